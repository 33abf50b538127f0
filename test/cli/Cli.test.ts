import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { useEmulator } from "../support/emulator.js"

// The CLI as a subprocess against the emulator's metadata server (reached through
// GCE_METADATA_HOST, as on Cloud Run).

const bin = fileURLToPath(new URL("../../bin/effect-adc.mjs", import.meta.url))
const emulator = useEmulator()


const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const base: Record<string, string> = { PATH: process.env["PATH"] ?? "", ...emulator.env, ...env }
    execFile(process.execPath, [bin, ...args], { env: base, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    })
  })

describe("effect-adc token", () => {
  it("token access prints only the token on stdout", async () => {
    const result = await cli(["token", "access"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ya29\.[\w.-]+\n$/)
    expect(emulator.controls.count("metadata.token")).toBeGreaterThan(0)
  })

  it("token id --audience --json prints the token with expiry and principal", async () => {
    const result = await cli(["token", "id", "--audience", "https://svc-abc-uc.a.run.app", "--json"])
    expect(result.code).toBe(0)
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>
    expect(parsed["kind"]).toBe("id")
    expect(parsed["principal"]).toBe(emulator.serviceAccount.email)
    expect(String(parsed["token"])).toMatch(/^eyJ/)
    expect(Date.parse(String(parsed["expiresAt"]))).toBeGreaterThan(Date.now())
  })

  it("a bad audience: one line on stderr, exit 3, nothing on stdout", async () => {
    const result = await cli(["token", "id", "--audience", "http://example.com"])
    expect(result.code).toBe(3)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("use https")
  })

  it("no credentials: exit 2 with the fix", async () => {
    const empty = await mkdtemp(join(tmpdir(), "effect-adc-cli-"))
    const result = await cli(["token", "access"], {
      GCE_METADATA_HOST: "127.0.0.1:1",
      GCE_METADATA_IP: "127.0.0.1:1",
      METADATA_SERVER_DETECTION: "none",
      HOME: empty,
      CLOUDSDK_CONFIG: empty
    })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("gcloud auth application-default login")
  })
})
