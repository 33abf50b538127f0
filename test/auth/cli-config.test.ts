import { describe, expect, it } from "@effect/vitest"
import { noCredentials as noCredentialsIn, runCli } from "../support/cli.js"

// Configuration before credentials, through the CLI entry as a subprocess, on a machine
// with no credentials at all: each configuration mistake is blamed on the
// configuration (exit 1, the setting named), never on missing credentials; a valid
// configuration then gets the credentials error (exit 2).

const noCredentials: Record<string, string> = {
  ...noCredentialsIn("effect-adc-cli-config-"),
  GOOGLE_CLOUD_PROJECT: "p"
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runCli(args, { ...noCredentials, ...env })

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
