import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { useEmulator } from "../support/emulator.js"

// Start-up (issue 14, P6): a process on the metadata server (Cloud Run, GCE, GKE) gets
// its first access and ID token without loading google-auth-library; a credential file
// still loads it (the library serves files), which shows the check can fail. Nor does
// the auth path load `effect/Schema` (and with it fast-check and pure-rand, about 250
// modules) or @effect/platform: importing the auth entry points and getting a token
// from the metadata server load neither. Each case is a fresh process (a loader hook
// lists every module it loads): the module cache of this test process says nothing.

const emulator = useEmulator()
const child = fileURLToPath(new URL("./fixtures/firstToken.ts", import.meta.url))
const importOnly = fileURLToPath(new URL("./fixtures/importOnly.ts", import.meta.url))
const counter = fileURLToPath(new URL("../cli/fixtures/countModules.mjs", import.meta.url))

interface Report {
  readonly source: string
  readonly library: ReadonlyArray<string>
  /** Did Node load its bundled undici (`fetch`)? */
  readonly undici: boolean
  /** Every file module the process loaded (URLs). */
  readonly loaded: ReadonlyArray<string>
}

/** Modules that must stay off the auth path: Schema and what it pulls in, and the HTTP platform. */
const heavy = [
  "/node_modules/effect/dist/esm/Schema.js",
  "/node_modules/effect/dist/esm/Arbitrary.js",
  "/node_modules/fast-check/",
  "/node_modules/pure-rand/",
  "/node_modules/@effect/platform/"
]
const heavyIn = (loaded: ReadonlyArray<string>) => loaded.filter((url) => heavy.some((part) => url.includes(part)))

const run = (args: ReadonlyArray<string>, env: Record<string, string>, script = child) =>
  new Promise<Report>((resolve, reject) => {
    const empty = mkdtempSync(join(tmpdir(), "effect-adc-startup-"))
    execFile(
      process.execPath,
      ["--import", "tsx", "--import", counter, script, ...args],
      {
        env: {
          PATH: process.env["PATH"] ?? "",
          HOME: empty,
          CLOUDSDK_CONFIG: empty,
          GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS: "true",
          ...emulator.env,
          GOOGLE_APPLICATION_CREDENTIALS: "",
          ...env
        },
        timeout: 60_000
      },
      (error, stdout, stderr) =>
        error === null
          ? resolve({
            ...(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Omit<Report, "loaded">),
            ...(JSON.parse(stderr.trim().split("\n").at(-1) ?? "") as Pick<Report, "loaded">)
          })
          : reject(new Error(`${error.message}\n${stderr}`))
    )
  })

describe("start-up: which sources load google-auth-library", () => {
  it("the metadata server: the first access and ID tokens without loading google-auth-library", async () => {
    const report = await run(["--tokens"], {})
    expect(report.source).toBe("metadata")
    expect(report.library).toEqual([])
    expect(heavyIn(report.loaded)).toEqual([])
    // an ES module import of node:http loads undici on Node 24 (its lazy http.WebSocket)
    expect(report.undici).toBe(false)
    expect(emulator.controls.count("metadata.token")).toBe(1)
    expect(emulator.controls.count("metadata.identity")).toBe(1)
  }, 60_000)

  const files = [
    ["a service account key", "service_account", () => emulator.credentials.writeServiceAccountKey()]
  ] as const
  it.each(files)("%s: the layer loads google-auth-library, which serves credential files", async (_, source, write) => {
    const report = await run([], { GOOGLE_APPLICATION_CREDENTIALS: await write() })
    expect(report.source).toBe(source)
    expect(report.library.some((path) => path.endsWith("/google-auth-library/build/src/index.js"))).toBe(true)
  }, 60_000)
})

describe("start-up: the auth entry points load neither effect/Schema nor @effect/platform", () => {
  const entries = [
    ["effect-adc/auth", "src/auth/index.ts"],
    ["AuthClient (the Promise API)", "src/auth/AuthClient.ts"],
    ["AuthService", "src/auth/AuthService.ts"]
  ] as const
  it.each(entries)("%s", async (_, entry) => {
    const report = await run([fileURLToPath(new URL(`../../${entry}`, import.meta.url))], {}, importOnly)
    // the hook saw the import: the entry and effect/Effect are in the list
    expect(report.loaded.some((url) => url.endsWith(`/${entry}`))).toBe(true)
    expect(report.loaded.some((url) => url.endsWith("/node_modules/effect/dist/esm/Effect.js"))).toBe(true)
    expect(heavyIn(report.loaded)).toEqual([])
    expect(report.library).toEqual([])
  }, 60_000)

  it("the check sees Schema when an entry imports it (the model entry does)", async () => {
    const report = await run(
      [fileURLToPath(new URL("../../src/model/index.ts", import.meta.url))],
      {},
      importOnly
    )
    expect(heavyIn(report.loaded).some((url) => url.endsWith("/effect/dist/esm/Schema.js"))).toBe(true)
  }, 60_000)
})
