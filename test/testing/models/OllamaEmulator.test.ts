import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Ollama } from "ollama"
import * as OllamaEmulator from "../../../src/testing/models/OllamaEmulator.js"
import { serve } from "./helpers.js"

const setup = (options?: OllamaEmulator.OllamaEmulatorOptions) =>
  Effect.gen(function*() {
    const emulator = OllamaEmulator.make(options)
    const { url } = yield* serve(emulator.handler)
    const client = new Ollama({ host: url, headers: { authorization: "Bearer id-token" } })
    return { emulator, url, client }
  })

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)
const failure = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => undefined, (e: { status_code?: number; error?: string; message: string }) => e))

describe("OllamaEmulator with the ollama npm client", () => {
  it.scoped("chat, not streamed: deterministic reply, counts, done_reason; headers recorded", () =>
    Effect.gen(function*() {
      const { client, emulator } = yield* setup()
      const response = yield* promise(() =>
        client.chat({ model: "gemma3:4b", messages: [{ role: "user", content: "hello there" }], stream: false })
      )
      expect(response.message).toEqual({ role: "assistant", content: "Echo: hello there" })
      expect(response.done).toBe(true)
      expect(response.done_reason).toBe("stop")
      expect(response.prompt_eval_count).toBe(2)
      expect(response.eval_count).toBe(3)
      expect(emulator.requests[0]?.headers["authorization"]).toBe("Bearer id-token")
    }))

  it.scoped("chat, streamed as NDJSON: several chunks, then done with counts", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const parts = yield* promise(async () => {
        const out: Array<{ content: string; done: boolean; reason: string | undefined }> = []
        for await (
          const part of await client.chat({
            model: "gemma3:4b",
            messages: [{ role: "user", content: "a b c d e f" }],
            stream: true
          })
        ) out.push({ content: part.message.content, done: part.done, reason: part.done_reason })
        return out
      })
      expect(parts.length).toBe(4)
      expect(parts.map((p) => p.content).join("")).toBe("Echo: a b c d e f")
      expect(parts.at(-1)).toEqual({ content: "", done: true, reason: "stop" })
    }))

  it.scoped("tools: a named tool is called with object arguments; the tool result gets an answer", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const tools = [{
        type: "function",
        function: {
          name: "get_weather",
          description: "weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }
      }]
      const response = yield* promise(() =>
        client.chat({
          model: "gemma3:4b",
          messages: [{ role: "user", content: "get_weather city=Tokyo" }],
          tools,
          stream: false
        })
      )
      expect(response.message.tool_calls).toEqual([{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }])
      expect(response.message.content).toBe("")
      const answer = yield* promise(() =>
        client.chat({
          model: "gemma3:4b",
          messages: [
            { role: "user", content: "get_weather city=Tokyo" },
            { role: "assistant", content: "", tool_calls: response.message.tool_calls ?? [] },
            { role: "tool", content: "{\"temp\":21}", tool_name: "get_weather" }
          ],
          stream: false
        })
      )
      expect(answer.message.content).toBe("get_weather returned {\"temp\":21}")
    }))

  it.scoped("format: a JSON Schema gets matching JSON, \"json\" gets JSON", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const structured = yield* promise(() =>
        client.chat({
          model: "gemma3:4b",
          messages: [{ role: "user", content: "tell me age=22" }],
          format: { type: "object", properties: { age: { type: "integer" }, available: { type: "boolean" } } },
          stream: false
        })
      )
      expect(JSON.parse(structured.message.content)).toEqual({ age: 22, available: true })
      const loose = yield* promise(() =>
        client.generate({ model: "gemma3:4b", prompt: "hi", format: "json", stream: false })
      )
      expect(JSON.parse(loose.response ?? "")).toEqual({ response: "Echo: hi" })
    }))

  it.scoped("generate, streamed; tags lists the pulled models", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const text = yield* promise(async () => {
        let out = ""
        for await (
          const part of await client.generate({ model: "gemma3:27b", prompt: "one two three", stream: true })
        ) {
          out += part.response
        }
        return out
      })
      expect(text).toBe("Echo: one two three")
      const tags = yield* promise(() => client.list())
      expect(tags.models.map((m) => m.name)).toEqual(["gemma3:4b", "gemma3:27b"])
    }))

  it.scoped("errors: unknown model 404, bad JSON 400, injected 500, all as {\"error\"}", () =>
    Effect.gen(function*() {
      const { client, emulator, url } = yield* setup()
      const missing = yield* failure(() =>
        client.chat({ model: "custom-phi3", messages: [{ role: "user", content: "x" }], stream: false })
      )
      expect(missing?.status_code).toBe(404)
      expect(missing?.error).toBe("model 'custom-phi3' not found")
      emulator.fail({ status: 500, error: "llama runner process has terminated" })
      const crashed = yield* failure(() =>
        client.chat({ model: "gemma3:4b", messages: [{ role: "user", content: "x" }], stream: false })
      )
      expect(crashed?.status_code).toBe(500)
      expect(crashed?.error).toBe("llama runner process has terminated")
      const bad = yield* promise(() => fetch(`${url}/api/chat`, { method: "POST", body: "{model: 1}" }))
      expect(bad.status).toBe(400)
      expect(yield* promise(() => bad.json())).toEqual({
        error: "invalid character 'm' looking for beginning of object key string"
      })
    }))

  it.scoped("the mid-stream error line arrives with HTTP 200 after output, and the client throws it", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup()
      const raw = yield* promise(() =>
        fetch(`${url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({ model: "gemma3:4b", prompt: "one two three four five six [[midstream_error]]" })
        }).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      expect(raw.status).toBe(200)
      const lines = raw.text.trim().split("\n").map((l) => JSON.parse(l))
      expect(lines.length).toBe(3)
      expect(lines.at(-1)).toEqual({ error: "an error was encountered while running the model" })
      const seen: Array<string> = []
      const error = yield* failure(async () => {
        for await (
          const part of await client.chat({
            model: "gemma3:4b",
            messages: [{ role: "user", content: "one two three four five six [[midstream_error]]" }],
            stream: true
          })
        ) seen.push(part.message.content)
      })
      expect(seen.length).toBe(2)
      expect(error?.message).toContain("an error was encountered while running the model")
    }))
})
