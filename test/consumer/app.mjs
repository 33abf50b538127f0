// ESM consumer: the packed package against its own emulator (loopback only).
import { AuthClient } from "effect-adc"
import { ModelService } from "effect-adc/model"
import { Emulator, ModelEmulators } from "effect-adc/testing"

const emulator = await Emulator.start()
const models = await ModelEmulators.serve(emulator)
const auth = AuthClient.make({
  projectId: emulator.projectId,
  keyFile: await emulator.credentials.writeServiceAccountKey(),
  clientOptions: emulator.clientOptions
})
try {
  const headers = await auth.headers({ kind: "id", audience: models.ollama.url })
  const response = await fetch(`${models.ollama.url}/api/tags`, { headers })
  if (response.status !== 200) throw new Error(`ollama behind the front door: ${response.status}`)
  if (typeof ModelService.ModelService !== "function") throw new Error("effect-adc/model: no ModelService tag")
  console.log(`esm ok: ${(await response.json()).models.length} models`)
} finally {
  await auth.close()
  await models.close()
  await emulator.close()
}
