import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import OpenAI from "openai"
import * as OpenAICompatibleEmulator from "../../../src/testing/models/OpenAICompatibleEmulator.js"
import { serve } from "./helpers.js"

const setup = (options?: OpenAICompatibleEmulator.OpenAICompatibleEmulatorOptions) =>
  Effect.gen(function*() {
    const emulator = OpenAICompatibleEmulator.make(options)
    const { url } = yield* serve(emulator.handler)
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: options?.apiKey ?? "unused", maxRetries: 0 })
    return { emulator, url, client }
  })

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)
const failure = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => undefined, (e: { status?: number; message: string; error?: unknown }) => e))

const model = "google/gemma-3-4b-it"

describe("OpenAICompatibleEmulator with the openai npm client", () => {
  it.scoped("chat completion: text, finish reason, usage, vLLM's extension fields", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const completion = yield* promise(() =>
        client.chat.completions.create({
          model,
          messages: [{ role: "system", content: "be nice" }, { role: "user", content: "hi there" }]
        })
      )
      expect(completion.choices[0]?.message.content).toBe("Echo: hi there")
      expect(completion.choices[0]?.finish_reason).toBe("stop")
      expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 })
      expect(completion.id).toMatch(/^chatcmpl-/)
      expect((completion.choices[0] as unknown as { stop_reason: unknown }).stop_reason).toBeNull()
    }))

  it.scoped("streaming: role chunk, content chunks, finish chunk, usage chunk, [DONE]", () =>
    Effect.gen(function*() {
      const { client, url } = yield* setup()
      const chunks = yield* promise(async () => {
        const stream = await client.chat.completions.create({
          model,
          messages: [{ role: "user", content: "one two three four five" }],
          stream: true,
          stream_options: { include_usage: true }
        })
        const out = []
        for await (const c of stream) out.push(c)
        return out
      })
      expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant")
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("")).toBe(
        "Echo: one two three four five"
      )
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop")
      expect(chunks.at(-1)?.choices).toEqual([])
      expect(chunks.at(-1)?.usage?.completion_tokens).toBe(6)
      const raw = yield* promise(() =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }], stream: true })
        }).then((r) => r.text())
      )
      expect(raw.endsWith("data: [DONE]\n\n")).toBe(true)
    }))

  it.scoped("tool calls: string arguments, chatcmpl-tool ids, streamed in fragments the client reassembles", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const tools = [{
        type: "function" as const,
        function: {
          name: "searchGoogle",
          parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] }
        }
      }]
      const completion = yield* promise(() =>
        client.chat.completions.create({
          model,
          messages: [{ role: "user", content: "searchGoogle query=\"latest news\"" }],
          tools
        })
      )
      const call = completion.choices[0]?.message.tool_calls?.[0]
      expect(completion.choices[0]?.finish_reason).toBe("tool_calls")
      expect(completion.choices[0]?.message.content).toBeNull()
      expect(call?.id).toMatch(/^chatcmpl-tool-/)
      expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({ query: "latest news" })
      const streamed = yield* promise(async () => {
        const stream = client.chat.completions.stream({
          model,
          messages: [{ role: "user", content: "please" }],
          tools,
          tool_choice: "required"
        })
        return stream.finalChatCompletion()
      })
      const streamedCall = streamed.choices[0]?.message.tool_calls?.[0]
      expect(streamedCall?.type === "function" && JSON.parse(streamedCall.function.arguments)).toEqual({
        query: "example"
      })
      expect(streamed.choices[0]?.finish_reason).toBe("tool_calls")
    }))

  it.scoped("response_format json_schema gets matching JSON; the tool result gets an answer", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const completion = yield* promise(() =>
        client.chat.completions.create({
          model,
          messages: [{ role: "user", content: "a person name=Ada" }],
          response_format: {
            type: "json_schema",
            json_schema: { name: "person", schema: { type: "object", properties: { name: { type: "string" } } } }
          }
        })
      )
      expect(JSON.parse(completion.choices[0]?.message.content ?? "")).toEqual({ name: "Ada" })
      const answer = yield* promise(() =>
        client.chat.completions.create({
          model,
          messages: [
            { role: "user", content: "search" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_1", type: "function", function: { name: "searchGoogle", arguments: "{}" } }]
            },
            { role: "tool", tool_call_id: "call_1", content: "nothing new" }
          ]
        })
      )
      expect(answer.choices[0]?.message.content).toBe("call_1 returned nothing new")
    }))

  it.scoped("/v1/models lists the served model", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const list = yield* promise(async () => {
        const out = []
        for await (const m of client.models.list()) out.push(m.id)
        return out
      })
      expect(list).toEqual([model])
    }))

  it.scoped("errors: unknown model 404 and injected 429 in the flat shape; nested shape on request", () =>
    Effect.gen(function*() {
      const { client, emulator, url } = yield* setup()
      const missing = yield* failure(() =>
        client.chat.completions.create({ model: "gemma", messages: [{ role: "user", content: "x" }] })
      )
      expect(missing?.status).toBe(404)
      expect(missing?.message).toContain("The model `gemma` does not exist.")
      emulator.fail({ status: 429, message: "queue full", retryAfterSeconds: 3 })
      const limited = yield* promise(() =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] })
        }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: await r.json() }))
      )
      expect(limited).toEqual({
        status: 429,
        retryAfter: "3",
        body: { object: "error", message: "queue full", type: "RateLimitError", param: null, code: 429 }
      })
      const nested = yield* setup({ errorShape: "nested" })
      nested.emulator.fail({ status: 400, message: "bad" })
      const body = yield* promise(() =>
        fetch(`${nested.url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] })
        }).then((r) => r.json())
      )
      expect(body).toEqual({ error: { message: "bad", type: "BadRequestError", param: null, code: 400 } })
    }))

  it.scoped("--api-key: Authorization must carry the app's key (the ID token goes in X-Serverless-Authorization)", () =>
    Effect.gen(function*() {
      const { client, url, emulator } = yield* setup({ apiKey: "app-key" })
      const ok = yield* promise(() =>
        client.chat.completions.create(
          { model, messages: [{ role: "user", content: "x" }] },
          { headers: { "x-serverless-authorization": "Bearer id-token" } }
        )
      )
      expect(ok.choices[0]?.message.content).toBe("Echo: x")
      expect(emulator.requests[0]?.headers["x-serverless-authorization"]).toBe("Bearer id-token")
      const denied = yield* promise(() =>
        fetch(`${url}/v1/models`, { headers: { authorization: "Bearer id-token" } }).then(async (r) => ({
          status: r.status,
          body: await r.json()
        }))
      )
      expect(denied).toEqual({ status: 401, body: { error: "Unauthorized" } })
    }))

  it.scoped("a mid-stream error event after output", () =>
    Effect.gen(function*() {
      const { url } = yield* setup()
      const raw = yield* promise(() =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({
            model,
            messages: [{ role: "user", content: "a b c d e f [[midstream_error]]" }],
            stream: true
          })
        }).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      expect(raw.status).toBe(200)
      const events = raw.text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6))
      expect(events.at(-1)).toBe("[DONE]")
      expect(JSON.parse(events.at(-2)!)).toMatchObject({ object: "error", code: 500 })
      expect(events.length).toBe(5)
    }))
})
