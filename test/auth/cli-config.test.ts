import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

// Configuration before credentials, through the CLI entry as a subprocess, on a machine
// with no credentials at all: each configuration mistake is blamed on the
// configuration (exit 1, the setting named), never on missing credentials; a valid
// configuration then gets the credentials error (exit 2).

const bin = fileURLToPath(new URL("../../bin/effect-adc.mjs", import.meta.url))
const empty = mkdtempSync(join(tmpdir(), "effect-adc-cli-config-"))
const noCredentials: Record<string, string> = {
  PATH: process.env["PATH"] ?? "",
  GCE_METADATA_HOST: "127.0.0.1:1",
  GCE_METADATA_IP: "127.0.0.1:1",
  METADATA_SERVER_DETECTION: "none",
  GOOGLE_CLOUD_PROJECT: "p",
  HOME: empty,
  CLOUDSDK_CONFIG: empty
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...noCredentials, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
      }
    )
  })

const adc = /No Application Default Credentials|application-default login/

const mistakes: ReadonlyArray<{
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
  readonly blames: RegExp
}> = [
  {
    name: "token id with an http audience",
    args: ["token", "id", "--audience", "http://example.com"],
    blames: /audience.*use https/
  },
  {
    name: "token access with a malformed scope",
    args: ["token", "access", "--scopes", "cloud platform"],
    blames: /--scopes/
  },
  {
    name: "identity with a bad auth variable",
    args: ["identity"],
    env: { EFFECT_ADC_TOKEN_MARGIN: "banana" },
    blames: /auth configuration is invalid/
  },
  { name: "doctor with an ftp audience", args: ["doctor", "--audience", "ftp://svc"], blames: /✗ audience: .*ftp/ },
  { name: "proxy with a malformed route", args: ["proxy", "--route", "no-equals-sign"], blames: /route/i }
]

// Subprocesses start slowly (tsx): run them side by side.
describe.concurrent("CLI: configuration is checked before credentials", () => {
  it.each(mistakes)("$name: exit 1, the configuration blamed, not the credentials", async ({ args, blames, env }) => {
    const result = await cli(args, env)
    const output = result.stderr + result.stdout
    expect(result.code).toBe(1)
    expect(output).toMatch(blames)
    expect(output).not.toMatch(adc)
  }, 60_000)

  it("a valid configuration without credentials: exit 2 and the login command", async () => {
    const result = await cli(["token", "id", "--audience", "https://svc-abc-uc.a.run.app"])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(adc)
  }, 60_000)
})
