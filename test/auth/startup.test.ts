import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { useEmulator } from "../support/emulator.js"

// Start-up (issue 14, P6): a process on the metadata server (Cloud Run, GCE, GKE) gets
// its first access and ID token without loading google-auth-library; a credential file
// still loads it (the library serves files), which shows the check can fail. Each case
// is a fresh process: the module cache of this test process says nothing.

const emulator = useEmulator()
const child = fileURLToPath(new URL("./fixtures/firstToken.ts", import.meta.url))

interface Report {
  readonly source: string
  readonly library: ReadonlyArray<string>
}

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<Report>((resolve, reject) => {
    const empty = mkdtempSync(join(tmpdir(), "effect-adc-startup-"))
    execFile(
      process.execPath,
      ["--import", "tsx", child, ...args],
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
          ? resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Report)
          : reject(new Error(`${error.message}\n${stderr}`))
    )
  })

describe("start-up: which sources load google-auth-library", () => {
  it("the metadata server: the first access and ID tokens without loading google-auth-library", async () => {
    const report = await run(["--tokens"], {})
    expect(report.source).toBe("metadata")
    expect(report.library).toEqual([])
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
