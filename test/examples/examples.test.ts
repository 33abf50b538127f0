import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

// Every example runs in demo mode against the emulator: no account, loopback only.
// (`npm run demo` is tested in test/cli/Demo.test.ts.)

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
})
