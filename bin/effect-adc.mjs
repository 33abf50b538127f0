#!/usr/bin/env node
// The published package runs the CLI bundle (dist/bin/, built by `npm run build:cli` at
// `npm pack`: self-contained, lazily loaded chunks); a checkout without it runs the
// compiled CLI (dist/cli/, `npm run build`), else the TypeScript source through tsx (a
// devDependency).
import { existsSync } from "node:fs"
import module from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

// The unbundled command needs two optional peer dependencies that a library install leaves out.
const peers = "@effect/cli@^0.77.2 @effect/platform-node@^0.108.2"
const isMissingPeer = (error) =>
  error?.code === "ERR_MODULE_NOT_FOUND" && /'(@effect\/cli|@effect\/platform-node)'/.test(String(error.message))

const bundle = fileURLToPath(new URL("../dist/bin/effect-adc.mjs", import.meta.url))
const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url))
try {
  if (existsSync(bundle)) {
    // V8's code cache on disk (as TypeScript's own bin does): later runs skip compiling the chunks
    module.enableCompileCache?.()
    await import(pathToFileURL(bundle).href)
  } else if (existsSync(compiled)) {
    await import(pathToFileURL(compiled).href)
  } else {
    const { register } = await import("tsx/esm/api")
    register()
    await import(new URL("../src/cli/main.ts", import.meta.url).href)
  }
} catch (error) {
  if (!isMissingPeer(error)) throw error
  console.error(
    `effect-adc: the command needs ${peers.replace(" ", " and ")} (optional peer dependencies of the library).\n` +
      `  one-off:        npx -p effect-adc -p ${peers.split(" ").join(" -p ")} effect-adc …\n` +
      `  in a project:   npm install --save-dev ${peers}`
  )
  process.exitCode = 1
}
