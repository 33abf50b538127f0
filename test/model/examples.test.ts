import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ModelService } from "../../src/model/ModelService.js"

// Every model example runs in demo mode against the emulators: no account, loopback only.
interface Example {
  readonly program: Effect.Effect<Array<string>, unknown, ModelService>
  readonly layer: Layer.Layer<ModelService, unknown, Scope.Scope>
}

const examples: Record<string, () => Promise<Example>> = {
  "model-ollama": () => import("../../examples/model-ollama.js"),
  "model-vllm": () => import("../../examples/model-vllm.js"),
  "model-gemini": () => import("../../examples/model-gemini.js"),
  "model-vertex-openai": () => import("../../examples/model-vertex-openai.js")
}

const run = async (name: string, env: Record<string, string> = {}) => {
  process.env["EFFECT_ADC_DEMO"] = "1"
  Object.assign(process.env, env)
  const example = await examples[name]!()
  return Effect.runPromise(
    Effect.scoped(Effect.provide(example.program, example.layer))
  )
}

describe("model examples", () => {
  it("model-ollama: generate, stream, tool call, structured output", async () => {
    const lines = await run("model-ollama")
    expect(lines[0]).toBe("generate: Echo: Say hello in five words (stop, 11 tokens)")
    expect(lines[1]).toBe("stream: Echo: Count from one to five")
    expect(lines[2]).toBe("tool call call_0: get_weather({\"city\":\"Tokyo\"})")
    expect(lines[3]).toBe("structured: Ada is 36")
  })

  it("model-vllm: generate and stream with the ID token in X-Serverless-Authorization", async () => {
    const lines = await run("model-vllm")
    expect(lines).toEqual(["generate: Echo: What is Cloud Run?", "stream: Echo: Name three colours (stop)"])
  })

  it("model-gemini: Vertex (global) and the Gemini API", async () => {
    const vertex = await run("model-gemini", { GEMINI_BACKEND: "vertex" })
    expect(vertex).toEqual(["answer: Echo: Why is the sky blue?", "prompt tokens: 5"])
    const api = await run("model-gemini", { GEMINI_BACKEND: "api" })
    expect(api[0]).toBe("answer: Echo: Why is the sky blue?")
  })

  it("model-vertex-openai: a dedicated endpoint's OpenAI-compatible path with an access token", async () => {
    const lines = await run("model-vertex-openai")
    expect(lines).toEqual(["generate: Echo: What is Model Garden?", "stream: Echo: Name three rivers"])
  })
})
