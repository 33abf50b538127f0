import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { useEmulator } from "../support/emulator.js"

// The published CLI: the esbuild bundle `npm run build:cli` makes (at `npm pack`), built
// here into a directory outside the repository, so no node_modules can be found from
// it: `--version` and `--help` load only the entry and its small chunks, `--help` is
// the command tree's own, and a command runs without any installed package.

const emulator = useEmulator()
const root = fileURLToPath(new URL("../..", import.meta.url))
const counter = fileURLToPath(new URL("./fixtures/countModules.mjs", import.meta.url))
let dir = ""

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs node in the bundle's directory (`cwd` given: there). */
const node = (args: ReadonlyArray<string>, env: Record<string, string> = {}, cwd = dir) =>
  new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd, env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

/** The bundle's files a run loaded (from the loader hook's report). */
const loadedBy = (run: Run): ReadonlyArray<string> => {
  const line = run.stderr.trim().split("\n").at(-1) ?? "{}"
  return (JSON.parse(line) as { loaded: ReadonlyArray<string> }).loaded
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "effect-adc-bundle-"))
  const build = await node([join(root, "scripts", "build-cli.mjs"), dir], {}, root)
  if (build.code !== 0) throw new Error(`build-cli failed: ${build.stderr}`)
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("the CLI bundle", () => {
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version

  it.each([["--version"], ["--help"]])("%s loads the entry and at most three small chunks", async (flag) => {
    const run = await node(["--import", counter, join(dir, "effect-adc.mjs"), flag])
    expect(run.code).toBe(0)
    const ours = loadedBy(run).filter((url) => !url.startsWith(`file://${counter}`))
    expect(ours.length).toBeLessThanOrEqual(4)
    expect(ours.every((url) => url.startsWith(`file://${dir}`))).toBe(true)
    expect(ours.some((url) => /\/chunks\/Cli-/.test(url))).toBe(false)
    expect(run.stdout).toContain(flag === "--version" ? `${version}\n` : "USAGE")
  }, 60_000)

  it("--help is the command tree's own, plain when piped and coloured under FORCE_COLOR", async () => {
    const [bundled, coloured, source] = await Promise.all([
      node([join(dir, "effect-adc.mjs"), "--help"]),
      node([join(dir, "effect-adc.mjs"), "--help"], { FORCE_COLOR: "1" }),
      node(["--import", "tsx", join(root, "src", "cli", "main.ts"), "--help"], {}, root)
    ])
    expect(source.code).toBe(0)
    expect(bundled.stdout).toBe(source.stdout)
    expect(bundled.stdout).not.toContain("\u001b[")
    expect(coloured.stdout).toContain("\u001b[")
    // eslint-disable-next-line no-control-regex -- ESC is what it strips
    expect(coloured.stdout.replace(/\u001b\[[0-9;]*m/g, "")).toBe(bundled.stdout)
  }, 60_000)

  it("token access runs from the bundle alone (no node_modules reachable) against the metadata server", async () => {
    const empty = mkdtempSync(join(tmpdir(), "effect-adc-bundle-home-"))
    const run = await node([join(dir, "effect-adc.mjs"), "token", "access"], {
      ...emulator.env,
      HOME: empty,
      CLOUDSDK_CONFIG: empty,
      GOOGLE_APPLICATION_CREDENTIALS: ""
    })
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^ya29\.\S+\n$/)
    expect(emulator.controls.count("metadata.token")).toBe(1)
  }, 60_000)
})
