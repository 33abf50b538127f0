import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

// examples/embeddings.ts runs in demo mode against the emulators: no account, loopback only.
const run = async (env: Record<string, string>) => {
  process.env["EFFECT_ADC_DEMO"] = "1"
  Object.assign(process.env, env)
  const example = await import("../../examples/embeddings.js")
  return Effect.runPromise(Effect.scoped(Effect.provide(example.program, example.layer)))
}

describe("embeddings example", () => {
  it("Vertex AI: the query ranks the matching document first; 300 texts in 2 predict calls", async () => {
    const lines = await run({ EMBED_BACKEND: "vertex" })
    expect(lines).toEqual([
      "best match: Application Default Credentials find a token without a key file",
      "vector size: 256",
      "300 vectors in 2 calls"
    ])
  })
})
