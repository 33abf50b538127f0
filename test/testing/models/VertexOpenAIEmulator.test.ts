/**
 * The Vertex AI OpenAI-compatible emulator: Google's 401 for a missing token or an API
 * key before any chat completion, the Vertex path recorded with the endpoint it names,
 * the answer from the OpenAI-compatible emulator behind it, other paths to `next`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as VertexOpenAIEmulator from "../../../src/testing/models/VertexOpenAIEmulator.js"
import { serve } from "./helpers.js"

const path = "/v1beta1/projects/p/locations/us-central1/endpoints/1234/chat/completions"
const body = JSON.stringify({ model: "google/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] })

const post = (url: string, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body
    })
    return { status: response.status, json: (await response.json()) as Record<string, unknown> }
  })

describe("VertexOpenAIEmulator", () => {
  it.scoped("no token → Google's 401 CREDENTIALS_MISSING; an API key → 401; a bearer token → the completion", () =>
    Effect.gen(function*() {
      const emulator = VertexOpenAIEmulator.make()
      const server = yield* serve(emulator.handler)
      const missing = yield* post(`${server.url}${path}`, {})
      expect(missing.status).toBe(401)
      expect(JSON.stringify(missing.json)).toContain("CREDENTIALS_MISSING")
      const keyed = yield* post(`${server.url}${path}`, { "x-goog-api-key": "AIza-not-a-key" })
      expect(keyed.status).toBe(401)
      expect(JSON.stringify(keyed.json)).toContain("API keys are not supported by this API")
      expect(emulator.chat.requests).toEqual([])
      const ok = yield* post(`${server.url}${path}`, { authorization: "Bearer ya29.token" })
      expect(ok.status).toBe(200)
      expect(ok.json["object"]).toBe("chat.completion")
      expect(emulator.requests.map((r) => [r.path, r.endpoint, r.location, r.project, r.principal])).toEqual([
        [path, "1234", "us-central1", "p", undefined],
        [path, "1234", "us-central1", "p", undefined],
        [path, "1234", "us-central1", "p", "bearer"]
      ])
      expect(emulator.chat.requests.map((r) => r.path)).toEqual(["/v1/chat/completions"])
    }))

  it.scoped("route: the Vertex paths to the emulator, every other path to next", () =>
    Effect.gen(function*() {
      const emulator = VertexOpenAIEmulator.make()
      const server = yield* serve(emulator.route((_req, res) => {
        res.writeHead(418)
        res.end("{}")
      }))
      expect((yield* post(`${server.url}/v1/chat/completions`, { authorization: "Bearer x" })).status).toBe(418)
      expect((yield* post(`${server.url}${path}`, { authorization: "Bearer x" })).status).toBe(200)
      expect(emulator.requests.length).toBe(1)
    }))
})
