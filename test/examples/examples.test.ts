import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

// Every example runs in demo mode against the emulator: no account, loopback only.

describe("examples", () => {
  it("auth-tokens: both token kinds and headers from one ADC source", async () => {
    process.env["EFFECT_ADC_DEMO"] = "1"
    const example = await import("../../examples/auth-tokens.js")
    const lines = await Effect.runPromise(Effect.provide(example.program, example.layer))
    expect(lines[0]).toMatch(/^ADC source: metadata/)
    expect(lines.join("\n")).toContain("second call served from the cache: true")
    expect(lines.join("\n")).toContain("headers for Cloud Run: x-serverless-authorization")
    // Tokens print redacted.
    expect(lines.join("\n")).not.toMatch(/ya29\.|eyJ/)
  })

  it("npm run demo: Cloud Run call with an ID token and background refresh", async () => {
    const main = fileURLToPath(new URL("../../bin/effect-adc.mjs", import.meta.url))
    const output = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [main, "demo"],
        { env: { PATH: process.env["PATH"] ?? "" }, timeout: 60_000 },
        (error, stdout) => resolve({ code: error === null ? 0 : 1, stdout })
      )
    })
    expect(output.code).toBe(0)
    expect(output.stdout).toContain("without a token: HTTP 401")
    expect(output.stdout).toContain("with our ID token: HTTP 200")
    const calls = output.stdout.split("\n").filter((line) => /^ {2}t\+\ds /.test(line))
    expect(calls).toHaveLength(6)
    // The first call after invalidation waits; after that the background fiber keeps the
    // token fresh and every call is served from the cache, while the value rotates.
    expect(calls[0]).toContain("waited for a fetch")
    for (const call of calls.slice(1)) expect(call).toContain("served from the cache")
    expect(new Set(calls.map((line) => /sha256:(\w+)/.exec(line)?.[1])).size).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
