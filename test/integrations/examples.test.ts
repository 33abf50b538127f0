import { describe, expect, it } from "@effect/vitest"

// Every integration example runs in demo mode against the emulator: loopback only.
process.env["EFFECT_ADC_DEMO"] = "1"

/** Tokens print nowhere: no access token (ya29.) nor JWT (eyJ) in what an example says. */
const noToken = (lines: ReadonlyArray<string>) => expect(lines.join("\n")).not.toMatch(/ya29\.|eyJ/)

describe("integration examples", () => {
  it("integration-genai: @google/genai on Vertex AI with one cached access token", async () => {
    const lines = await (await import("../../examples/integration-genai.js")).main()
    expect(lines).toEqual([
      "gemini: Echo: Why is the sky blue? One sentence.",
      "gemini: Echo: And at sunset?",
      "access tokens fetched for two calls: 1"
    ])
    noToken(lines)
  })

  it("integration-mcp: tools over Streamable HTTP with an ID token, surviving an expiry", async () => {
    const lines = await (await import("../../examples/integration-mcp.js")).main()
    expect(lines[0]).toBe("tools: add, whoami")
    expect(lines[1]).toBe("add(2, 3) = 5")
    expect(lines[2]).toMatch(/^whoami: .+@.+\.gserviceaccount\.com$/)
    expect(lines[3]).toBe("after the token expired, add(20, 22) = 42")
    expect(lines[4]).toBe("ID tokens fetched: 2")
    noToken(lines)
  })

  it("integration-openai: chat completions from a vLLM-style server on Cloud Run", async () => {
    const lines = await (await import("../../examples/integration-openai.js")).main()
    expect(lines[0]).toBe("assistant: Echo: Say hello from Cloud Run")
    expect(lines[1]).toMatch(/^usage: \d+ tokens$/)
    expect(lines[2]).toMatch(/^Cloud Run let in: .+@.+\.gserviceaccount\.com$/)
    noToken(lines)
  })

  it("integration-ollama: chat from Ollama on Cloud Run", async () => {
    const lines = await (await import("../../examples/integration-ollama.js")).main()
    expect(lines[0]).toBe("assistant: Echo: Say hello from Cloud Run")
    expect(lines[1]).toMatch(/^tokens: \d+ in, \d+ out$/)
    expect(lines[2]).toMatch(/^Cloud Run let in: .+@.+\.gserviceaccount\.com$/)
    noToken(lines)
  })

  it("integration-vercel-ai: ai's generateText and streamText on vLLM (ID token) and Gemini on Vertex (access token)", async () => {
    const lines = await (await import("../../examples/integration-vercel-ai.js")).main()
    expect(lines).toEqual([
      "vllm generateText: Echo: Say hello from Cloud Run",
      "vllm streamText: Echo: Count from one to five",
      "gemini generateText: Echo: Why is the sky blue?",
      "gemini streamText: Echo: And at sunset?",
      "tokens fetched: 1 ID, 1 access"
    ])
    noToken(lines)
  })

  it("integration-a2a: card and message through the front door", async () => {
    const lines = await (await import("../../examples/integration-a2a.js")).main()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^agent: Echo: hello agent \(caller .+@.+\)$/)
    noToken(lines)
  })

  it("integration-effect-ai: @effect/ai LanguageModel, Chat and Toolkit on Gemma (Ollama on Cloud Run) and Gemini (Vertex)", async () => {
    const example = await import("../../examples/integration-effect-ai.js")
    const lines = await example.main()
    expect(lines).toEqual([
      "generateText: Echo: Say hello from Cloud Run (stop, 11 tokens)",
      "streamText: Echo: Count from one to five",
      "generateObject: Ada is 36",
      "tool get_weather: {\"city\":\"Tokyo\",\"celsius\":21}",
      "chat: get_weather returned {\"city\":\"Tokyo\",\"celsius\":21}"
    ])
    noToken(lines)
    process.env["GEMINI_BACKEND"] = "vertex"
    try {
      const vertex = await example.main()
      expect(vertex[0]).toMatch(/^generateText: Echo: Say hello from Cloud Run \(stop, \d+ tokens\)$/)
      expect(vertex.slice(1)).toEqual(lines.slice(1))
    } finally {
      delete process.env["GEMINI_BACKEND"]
    }
  })

  it("integration-adk: an ADK LlmAgent on Gemma (Ollama on Cloud Run) with an MCP toolset on Cloud Run", async () => {
    const lines = await (await import("../../examples/integration-adk.js")).main()
    expect(lines).toEqual([
      "tools: add, whoami",
      "tool call: add({\"a\":2,\"b\":3})",
      "tool result: 5",
      "agent: add returned {\"content\":[{\"type\":\"text\",\"text\":\"5\"}]}",
      "ID tokens fetched: 2"
    ])
    noToken(lines)
  })
})
