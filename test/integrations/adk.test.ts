/**
 * Google's ADK for TypeScript on ModelService, end to end through the emulator: Gemma
 * on Ollama behind the Cloud Run front door (ID token verified) as the agent's
 * `BaseLlm`, and the MCP server on another Cloud Run service as its MCPToolset, signed
 * with our fetch. The real @google/adk runs the agent.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { InMemoryRunner, LlmAgent, type LlmRequest, type LlmResponse, MCPToolset, StreamingMode } from "@google/adk"
import { mcpServer } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as Adk from "../../src/integrations/adk.js"
import * as Mcp from "../../src/integrations/mcp.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { at, jsonArray, jsonObject } from "../support/json.js"
import { serve } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let gemma: Emulator.CloudRunService
let tools: Emulator.CloudRunService
let gemini: GeminiEmulator.GeminiEmulator
let geminiServer: { url: string; close: () => Promise<void> }
beforeAll(async () => {
  gemma = await emulator.cloudRun.deploy({ name: "gemma", handler: ollama.handler })
  tools = await emulator.cloudRun.deploy({ name: "mcp", handler: mcpServer() })
  gemini = GeminiEmulator.make({
    authorize: GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)
  })
  geminiServer = await serve(gemini.handler)
})
afterAll(() => geminiServer.close())

let auth: AuthClient.AuthClient
let llm: Adk.AdcLlm
beforeEach(() => {
  ollama.reset()
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
  llm = Adk.fromAuthClient(auth, Ollama.layer({ url: gemma.url }), { model: "gemma3:4b" })
})
afterEach(async () => {
  await llm.close()
  await auth.close()
})

const request = (text: string, config: LlmRequest["config"] = {}): LlmRequest => ({
  contents: [{ role: "user", parts: [{ text }] }],
  config,
  liveConnectConfig: {},
  toolsDict: {}
})

const collect = async (generator: AsyncGenerator<LlmResponse, void>) => {
  const out: Array<LlmResponse> = []
  for await (const response of generator) out.push(response)
  return out
}

const body = (i: number) => jsonObject(ollama.requests[i]?.body)

/** An `add` declaration as ADK's MCPTool / FunctionTool send it: a Gemini Schema with upper-case types. */
type ToolItem = NonNullable<NonNullable<LlmRequest["config"]>["tools"]>[number]
type FunctionDeclaration = NonNullable<
  Extract<ToolItem, { functionDeclarations?: unknown }>["functionDeclarations"]
>[number]
const addDeclaration = {
  name: "add",
  description: "Adds two numbers",
  parameters: { type: "OBJECT", properties: { a: { type: "NUMBER" }, b: { type: "NUMBER" } }, required: ["a", "b"] }
} as unknown as FunctionDeclaration // ADK's genai `Type` enum values are these strings

const noToken = (text: string) => expect(text).not.toMatch(/ya29\.|eyJ/)

describe("Adk.AdcLlm: ADK's BaseLlm on Gemma (Ollama on Cloud Run)", () => {
  it("one LlmResponse: system instruction, generation config, text, finish reason and usage", async () => {
    const responses = await collect(llm.generateContentAsync(
      request("hello adk", { systemInstruction: "You are terse.", temperature: 0.2, maxOutputTokens: 64 })
    ))
    expect(responses).toHaveLength(1)
    const [response] = responses
    expect(response?.content).toEqual({ role: "model", parts: [{ text: "Echo: hello adk" }] })
    expect(String(response?.finishReason)).toBe("STOP")
    expect(response?.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 })
    expect(body(0)["messages"]).toEqual([{ role: "system", content: "You are terse." }, {
      role: "user",
      content: "hello adk"
    }])
    expect(body(0)["options"]).toEqual({ temperature: 0.2, num_predict: 64 })
    // signed with an ID token the front door accepted
    expect(emulator.controls.log.findLast((l) => l.endpoint === "cloudrun:gemma")?.principal).toBe(
      emulator.serviceAccount.email
    )
  })

  it("streaming: partial text responses, then one complete response with the whole text and usage", async () => {
    const responses = await collect(llm.generateContentAsync(request("tell me about robins in the garden"), true))
    const partial = responses.filter((r) => r.partial === true)
    expect(partial.length).toBeGreaterThan(1)
    expect(partial.map((r) => r.content?.parts?.[0]?.text).join("")).toBe("Echo: tell me about robins in the garden")
    const last = responses.at(-1)
    expect(last?.partial).toBe(false)
    expect(last?.content?.parts).toEqual([{ text: "Echo: tell me about robins in the garden" }])
    expect(last?.usageMetadata?.candidatesTokenCount).toBe(8)
    expect(String(last?.finishReason)).toBe("STOP")
    expect(body(0)["stream"]).toBe(true)
  })

  it("function declarations (Gemini Schema → JSON Schema) and a function call back, for ADK to give an id", async () => {
    const [response] = await collect(
      llm.generateContentAsync(request("add a=2 b=3", { tools: [{ functionDeclarations: [addDeclaration] }] }))
    )
    expect(response?.content?.parts).toEqual([{ functionCall: { name: "add", args: { a: 2, b: 3 } } }])
    expect(at(body(0), "tools", 0, "function")).toEqual({
      name: "add",
      description: "Adds two numbers",
      parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] }
    })
  })

  it("function responses go back as tool messages", async () => {
    const [response] = await collect(llm.generateContentAsync({
      ...request("add a=2 b=3", { tools: [{ functionDeclarations: [addDeclaration] }] }),
      contents: [
        { role: "user", parts: [{ text: "add a=2 b=3" }] },
        { role: "model", parts: [{ functionCall: { id: "adk-1", name: "add", args: { a: 2, b: 3 } } }] },
        { role: "user", parts: [{ functionResponse: { id: "adk-1", name: "add", response: { result: 5 } } }] }
      ]
    }))
    expect(response?.content?.parts).toEqual([{ text: `add returned {"result":5}` }])
    expect(jsonArray(body(0)["messages"]).map((m) => at(m, "role"))).toEqual(["user", "assistant", "tool"])
  })

  it("a backend error rejects with the ModelError, without a token in it", async () => {
    const missing = Adk.fromAuthClient(auth, Ollama.layer({ url: gemma.url }), { model: "no-such-model" })
    try {
      const error = await collect(missing.generateContentAsync(request("hi"))).then(() => undefined, (e: unknown) => e)
      expect((error as { _tag?: string })._tag).toBe("NotFound")
      noToken(String((error as Error).message))
      const streamed = await collect(missing.generateContentAsync(request("hi"), true)).then(
        () => undefined,
        (e: unknown) => e
      )
      expect((streamed as { _tag?: string })._tag).toBe("NotFound")
    } finally {
      await missing.close()
    }
  })
})

describe("an LlmAgent with AdcLlm and an MCPToolset on Cloud Run, run by InMemoryRunner", () => {
  const agentWith = () =>
    new LlmAgent({
      name: "calculator",
      model: llm,
      instruction: "Use the tools when they help.",
      tools: [
        new MCPToolset({
          type: "StreamableHTTPConnectionParams",
          url: `${tools.url}/mcp`,
          transportOptions: Mcp.transportOptions(auth, `${tools.url}/mcp`)
        })
      ]
    })

  const textOf = (parts: ReadonlyArray<{ text?: string | undefined }> | undefined) =>
    (parts ?? []).map((p) => p.text ?? "").join("")

  for (const streaming of [false, true]) {
    it(`calls the MCP tool and answers with its result (${streaming ? "SSE streaming" : "no streaming"})`, async () => {
      const runner = new InMemoryRunner({ agent: agentWith(), appName: "effect-adc-test" })
      const session = await runner.sessionService.createSession({ appName: "effect-adc-test", userId: "u1" })
      const events = []
      for await (
        const event of runner.runAsync({
          userId: "u1",
          sessionId: session.id,
          newMessage: { role: "user", parts: [{ text: "add a=2 b=3" }] },
          ...(streaming ? { runConfig: { streamingMode: StreamingMode.SSE } } : {})
        })
      ) events.push(event)
      const complete = events.filter((e) => e.partial !== true)
      const call = complete.flatMap((e) => e.content?.parts ?? []).find((p) => p.functionCall !== undefined)
      expect(call?.functionCall).toMatchObject({ name: "add", args: { a: 2, b: 3 } })
      const result = complete.flatMap((e) => e.content?.parts ?? []).find((p) => p.functionResponse !== undefined)
      expect(JSON.stringify(result?.functionResponse?.response)).toContain(`"text":"5"`)
      const answer = textOf(complete.at(-1)?.content?.parts)
      expect(answer).toMatch(/^add returned .*"text":"5"/)
      // The model saw the tool declared from the MCP server's schema, and the result as a tool message.
      expect(jsonArray(body(0)["tools"]).map((t) => at(t, "function", "name")).sort()).toEqual(["add", "whoami"])
      expect(
        at(
          jsonArray(body(0)["tools"]).find((t) => at(t, "function", "name") === "add"),
          "function",
          "parameters",
          "properties",
          "a"
        )
      ).toMatchObject({
        type: "number"
      })
      expect(at(body(1), "messages", -1, "role")).toBe("tool")
      // Both Cloud Run services let in our service account: one ID token per audience from one cache.
      const principals = emulator.controls.log.filter((l) =>
        l.endpoint === "cloudrun:gemma" || l.endpoint === "cloudrun:mcp"
      )
        .map((l) => l.principal)
      expect(new Set(principals)).toEqual(new Set([emulator.serviceAccount.email]))
      expect(emulator.controls.count("metadata.identity")).toBe(2)
      if (streaming) expect(events.some((e) => e.partial === true)).toBe(true)
    })
  }

  it("the session keeps the turn, and the next turn survives both ID tokens expiring", async () => {
    const runner = new InMemoryRunner({ agent: agentWith(), appName: "effect-adc-test" })
    const session = await runner.sessionService.createSession({ appName: "effect-adc-test", userId: "u1" })
    const run = async (text: string) => {
      const events = []
      for await (
        const event of runner.runAsync({
          userId: "u1",
          sessionId: session.id,
          newMessage: { role: "user", parts: [{ text }] }
        })
      ) events.push(event)
      return events
    }
    await run("add a=20 b=22")
    expect(emulator.controls.count("metadata.identity")).toBe(2)
    // Two hours later at both front doors: the held ID tokens have expired; each is
    // rejected once, replaced, and the request replayed.
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    const second = await run("thanks")
    expect(textOf(second.at(-1)?.content?.parts)).toBe("Echo: thanks")
    const roles = jsonArray(body(ollama.requests.length - 1)["messages"]).map((m) => at(m, "role"))
    expect(roles).toEqual(["system", "user", "assistant", "tool", "assistant", "user"])
    expect(emulator.controls.count("metadata.identity")).toBe(4)
    const rejected = emulator.controls.log.filter((l) => l.detail?.startsWith("rejected 401") === true).map((l) =>
      l.endpoint
    )
    expect(rejected.sort()).toEqual(["cloudrun:gemma", "cloudrun:mcp"])
  })
})

describe("Adk.AdcLlm on Gemini on Vertex AI (access token checked with tokeninfo)", () => {
  const vertex = () =>
    Adk.fromAuthClient(
      auth,
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: geminiServer.url,
        origins: [geminiServer.url]
      }),
      { model: "gemini-2.5-flash" }
    )

  it("a function call keeps its thought signature, and the signature goes back on the next turn", async () => {
    gemini.reset()
    const model = vertex()
    try {
      const config = { tools: [{ functionDeclarations: [addDeclaration] }] }
      const [called] = await collect(model.generateContentAsync(request("add a=2 b=3", config)))
      const part = called?.content?.parts?.[0]
      expect(part).toEqual({
        functionCall: { name: "add", args: { a: 2, b: 3 } },
        thoughtSignature: "ZW11bGF0b3Itc2lnbmF0dXJl"
      })
      expect(gemini.requests[0]?.principal).toBe(emulator.serviceAccount.email)
      const sent = gemini.requests[0]?.body
      expect(at(sent, "tools", 0, "functionDeclarations", 0, "parametersJsonSchema", "properties", "a")).toEqual({
        type: "number"
      })
      const [answer] = await collect(model.generateContentAsync({
        ...request("add a=2 b=3", config),
        contents: [
          { role: "user", parts: [{ text: "add a=2 b=3" }] },
          { role: "model", parts: [{ ...part, functionCall: { ...part?.functionCall, id: "adk-7" } }] },
          { role: "user", parts: [{ functionResponse: { id: "adk-7", name: "add", response: { result: 5 } } }] }
        ]
      }))
      expect(answer?.content?.parts).toEqual([{ text: `add returned {"result":5}` }])
      const replayed = gemini.requests[1]?.body
      expect(at(replayed, "contents", 1, "parts", 0)).toEqual({
        functionCall: { id: "adk-7", name: "add", args: { a: 2, b: 3 } },
        thoughtSignature: "ZW11bGF0b3Itc2lnbmF0dXJl"
      })
      expect(at(replayed, "contents", 2, "parts", 0, "functionResponse")).toEqual({
        id: "adk-7",
        name: "add",
        response: { result: 5 }
      })
    } finally {
      await model.close()
    }
  })

  it("streams partial text over SSE, then the complete response with usage", async () => {
    gemini.reset()
    const model = vertex()
    try {
      const responses = await collect(model.generateContentAsync(request("tell me about robins in the garden"), true))
      expect(responses.filter((r) => r.partial === true).map((r) => r.content?.parts?.[0]?.text).join("")).toBe(
        "Echo: tell me about robins in the garden"
      )
      expect(responses.at(-1)?.usageMetadata?.candidatesTokenCount).toBe(8)
      expect(responses.at(-1)?.modelVersion).toBe("gemini-2.5-flash")
      expect(gemini.requests[0]?.path).toContain(":streamGenerateContent?alt=sse")
    } finally {
      await model.close()
    }
  })
})
