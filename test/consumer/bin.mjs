// The `effect-adc` bin of the packed package, installed without @effect/cli (an optional
// peer the README's install line leaves out): the published CLI is a self-contained
// bundle, so `--version`, `--help` and a command that reaches the metadata server work.
import { Emulator } from "effect-adc/testing"
import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const bin = join("node_modules", ".bin", "effect-adc")
const { version } = createRequire(import.meta.url)("effect-adc/package.json")
const run = (args, env = {}) =>
  execFileSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, ...env } })

if (run(["--version"]) !== `${version}\n`) throw new Error("--version")
if (!run(["--help"]).includes("USAGE")) throw new Error("--help")
try {
  createRequire(import.meta.url).resolve("@effect/cli")
  throw new Error("@effect/cli is installed: this check needs the README's install line, which leaves it out")
} catch (error) {
  if (error.code !== "MODULE_NOT_FOUND") throw error
}
const emulator = await Emulator.start()
try {
  const empty = mkdtempSync(join(tmpdir(), "consumer-bin-"))
  // asynchronously: the emulator answers from this process
  const { stdout } = await promisify(execFile)(process.execPath, [bin, "token", "access"], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, ...emulator.env, HOME: empty, CLOUDSDK_CONFIG: empty }
  })
  const token = stdout.trim()
  if (!/^ya29\./.test(token)) throw new Error(`token access printed ${JSON.stringify(token.slice(0, 8))}…`)
  if (!readFileSync(bin, "utf8").includes("dist/bin/effect-adc.mjs")) throw new Error("the bin does not run the bundle")
  console.log("bin ok: --version, --help and `token access` from the metadata server, without @effect/cli")
} finally {
  await emulator.close()
}
