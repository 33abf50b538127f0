// CommonJS consumer: require() of the ESM package (Node >= 22 loads ESM through require).
const { AuthClient } = require("effect-adc")
const { Emulator } = require("effect-adc/testing")

const main = async () => {
  const emulator = await Emulator.start()
  const auth = AuthClient.make({
    projectId: emulator.projectId,
    keyFile: await emulator.credentials.writeServiceAccountKey(),
    clientOptions: emulator.clientOptions
  })
  try {
    const token = await auth.accessToken()
    if (token.kind !== "access") throw new Error("no access token")
    console.log("cjs ok")
  } finally {
    await auth.close()
    await emulator.close()
  }
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
