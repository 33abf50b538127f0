import { describe, expect, it } from "@effect/vitest"
import {
  FunctionCallingConfigMode,
  type GenerateContentResponse,
  GoogleGenAI,
  type GoogleGenAIOptions,
  HarmBlockThreshold,
  HarmCategory,
  Modality,
  ServiceTier,
  ThinkingLevel,
  Type,
  UrlRetrievalStatus
} from "@google/genai"
import * as Effect from "effect/Effect"
import { OAuth2Client } from "google-auth-library"
import * as GeminiEmulator from "../../../src/testing/models/GeminiEmulator.js"
import { at } from "../../support/json.js"
import { serve } from "./helpers.js"

type AuthClient = NonNullable<NonNullable<GoogleGenAIOptions["googleAuthOptions"]>["authClient"]>

/**
 * An auth client that only ever hands out one fixed access token (no network).
 * @google/genai bundles google-auth-library 10 while we use 11; the client is used
 * through `getRequestHeaders` only, which both versions share.
 */
const staticToken = (token: string): AuthClient => {
  const client = new OAuth2Client()
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 })
  return client as unknown as AuthClient
}

const setup = (options?: GeminiEmulator.GeminiEmulatorOptions) =>
  Effect.gen(function*() {
    const emulator = GeminiEmulator.make(options)
    const { url } = yield* serve(emulator.handler)
    const api = new GoogleGenAI({
      googleAuthOptions: { authClient: staticToken("test-access-token") },
      httpOptions: { baseUrl: url, headers: { "x-goog-user-project": "quota-project" } }
    })
    const vertex = new GoogleGenAI({
      vertexai: true,
      project: "emulator-project",
      location: "us-central1",
      googleAuthOptions: { authClient: staticToken("test-access-token") },
      httpOptions: { baseUrl: url }
    })
    return { emulator, url, api, vertex }
  })

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

describe("GeminiEmulator with @google/genai", () => {
  it.scoped("the request surface as @google/genai sends and reads it: thoughts, grounding, URL context, code, image, tier", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup()
      const response = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-3-flash",
          contents: "read https://a.example/page",
          config: {
            thinkingConfig: { includeThoughts: true, thinkingLevel: ThinkingLevel.LOW },
            tools: [{ googleSearch: {} }, { urlContext: {} }, { codeExecution: {} }],
            responseModalities: [Modality.TEXT, Modality.IMAGE],
            serviceTier: ServiceTier.FLEX,
            safetySettings: [{
              category: HarmCategory.HARM_CATEGORY_HATE_SPEECH,
              threshold: HarmBlockThreshold.BLOCK_NONE
            }]
          }
        })
      )
      // the SDK's wire names are the ones the emulator (and our client) read
      expect(at(emulator.requests[0]?.body, "generationConfig")).toEqual({
        thinkingConfig: { includeThoughts: true, thinkingLevel: "LOW" },
        responseModalities: ["TEXT", "IMAGE"]
      })
      expect(at(emulator.requests[0]?.body, "serviceTier")).toBe("flex")
      expect(at(emulator.requests[0]?.body, "tools")).toEqual([{ googleSearch: {} }, { urlContext: {} }, {
        codeExecution: {}
      }])
      const parts = response.candidates?.[0]?.content?.parts ?? []
      expect(parts.filter((p) => p.thought === true).map((p) => p.text)).toEqual([
        "Thinking about: read https://a.example/page"
      ])
      expect(response.executableCode).toBe("print(\"Echo: read https://a.example/page\")")
      expect(response.codeExecutionResult).toBe("Echo: read https://a.example/page\n")
      expect(response.data).toMatch(/^iVBORw0KGgo/)
      const candidate = response.candidates?.[0]
      expect(candidate?.groundingMetadata?.groundingChunks?.[0]?.web?.domain).toBe("example.com")
      expect(candidate?.groundingMetadata?.groundingSupports?.[0]?.groundingChunkIndices).toEqual([0])
      expect(candidate?.groundingMetadata?.searchEntryPoint?.renderedContent).toContain("read https://a.example/page")
      expect(candidate?.urlContextMetadata?.urlMetadata).toEqual([{
        retrievedUrl: "https://a.example/page",
        urlRetrievalStatus: UrlRetrievalStatus.URL_RETRIEVAL_STATUS_SUCCESS
      }])
      expect(response.usageMetadata?.thoughtsTokenCount).toBe(4)
      expect(response.usageMetadata?.toolUsePromptTokenCount).toBe(15)
    }))

  it.scoped("generateContent on the Gemini API path: deterministic text, usage, bearer token, quota project", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup()
      const response = yield* promise(() =>
        api.models.generateContent({ model: "gemini-2.5-flash", contents: "why is the sky blue" })
      )
      expect(response.text).toBe("Echo: why is the sky blue")
      expect(response.candidates?.[0]?.finishReason).toBe("STOP")
      expect(response.usageMetadata?.promptTokenCount).toBe(5)
      expect(response.usageMetadata?.candidatesTokenCount).toBe(6)
      const request = emulator.requests[0]!
      expect(request.path).toBe("/v1/models/gemini-2.5-flash:generateContent")
      expect(request.flavor).toBe("api")
      expect(request.headers["authorization"]).toBe("Bearer test-access-token")
      expect(request.headers["x-goog-user-project"]).toBe("quota-project")
      expect(request.headers["x-goog-api-key"]).toBeUndefined()
    }))

  it.scoped("Vertex paths: project, location, publisher model", () =>
    Effect.gen(function*() {
      const { vertex, emulator } = yield* setup()
      const response = yield* promise(() =>
        vertex.models.generateContent({ model: "gemini-2.5-flash", contents: "hello vertex" })
      )
      expect(response.text).toBe("Echo: hello vertex")
      expect(emulator.requests[0]?.path).toBe(
        "/v1beta1/projects/emulator-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
      )
      expect(emulator.requests[0]?.flavor).toBe("vertex")
      expect(response.createTime).toBeDefined()
    }))

  it.scoped("streamGenerateContent?alt=sse arrives in several chunks, usage on the last", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup()
      const chunks = yield* promise(async () => {
        const out: Array<GenerateContentResponse> = []
        for await (
          const c of await api.models.generateContentStream({
            model: "gemini-2.5-flash",
            contents: "tell me a story about a robin in the garden"
          })
        ) out.push(c)
        return out
      })
      expect(chunks.length).toBe(3)
      expect(chunks.map((c) => c.text).join("")).toBe("Echo: tell me a story about a robin in the garden")
      expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe("STOP")
      expect(chunks.at(-1)?.usageMetadata?.candidatesTokenCount).toBe(11)
      expect(emulator.requests[0]?.path).toBe("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    }))

  it.scoped("function calls when tools are declared and the prompt names one; args from key=value", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const response = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "call get_weather city=Tokyo days=3",
          config: {
            tools: [{
              functionDeclarations: [{
                name: "get_weather",
                description: "weather",
                parametersJsonSchema: {
                  type: "object",
                  properties: { city: { type: "string" }, days: { type: "integer" } },
                  required: ["city"]
                }
              }]
            }]
          }
        })
      )
      expect(response.functionCalls).toEqual([{ name: "get_weather", args: { city: "Tokyo", days: 3 } }])
      // then the function response turn gets a text answer
      const followUp = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: [
            { role: "user", parts: [{ text: "call get_weather city=Tokyo" }] },
            { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Tokyo" } } }] },
            { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp: 21 } } }] }
          ]
        })
      )
      expect(followUp.text).toBe("get_weather returned {\"temp\":21}")
    }))

  it.scoped("mode ANY forces a call even when the prompt names no tool; NONE suppresses it", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const tools = [{ functionDeclarations: [{ name: "beep", parametersJsonSchema: { type: "object" } }] }]
      const forced = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "hi",
          config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } } }
        })
      )
      expect(forced.functionCalls?.[0]?.name).toBe("beep")
      const suppressed = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "beep please",
          config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } }
        })
      )
      expect(suppressed.functionCalls).toBeUndefined()
      expect(suppressed.text).toBe("Echo: beep please")
    }))

  it.scoped("responseJsonSchema and responseSchema get matching JSON", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const json = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "a person name=Ada",
          config: {
            responseMimeType: "application/json",
            responseJsonSchema: {
              type: "object",
              properties: {
                name: { type: "string" },
                age: { type: "integer" },
                tags: { type: "array", items: { type: "string" } }
              },
              required: ["name", "age"]
            }
          }
        })
      )
      expect(JSON.parse(json.text!)).toEqual({ name: "Ada", age: 1, tags: ["example"] })
      const openapi = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "a flag",
          config: {
            responseMimeType: "application/json",
            responseSchema: { type: Type.OBJECT, properties: { ok: { type: Type.BOOLEAN } } }
          }
        })
      )
      expect(JSON.parse(openapi.text!)).toEqual({ ok: true })
    }))

  it.scoped("safety block and MAX_TOKENS triggers", () =>
    Effect.gen(function*() {
      const { api } = yield* setup()
      const blocked = yield* promise(() =>
        api.models.generateContent({ model: "gemini-2.5-flash", contents: "[[safety]] something" })
      )
      expect(blocked.promptFeedback?.blockReason).toBe("SAFETY")
      expect(blocked.candidates).toBeUndefined()
      const truncated = yield* promise(() =>
        api.models.generateContent({
          model: "gemini-2.5-flash",
          contents: "one two three four five six",
          config: { maxOutputTokens: 3 }
        })
      )
      expect(truncated.candidates?.[0]?.finishReason).toBe("MAX_TOKENS")
      expect(truncated.text).toBe("Echo: one two")
    }))

  it.scoped("countTokens", () =>
    Effect.gen(function*() {
      const { api, vertex } = yield* setup()
      const counted = yield* promise(() => api.models.countTokens({ model: "gemini-2.5-flash", contents: "a b c d" }))
      expect(counted.totalTokens).toBe(4)
      const vertexCount = yield* promise(() =>
        vertex.models.countTokens({ model: "gemini-2.5-flash", contents: "a b c" })
      )
      expect(vertexCount.totalTokens).toBe(3)
    }))

  it.scoped("injected faults carry Google's bodies: 429 with RetryInfo and Retry-After, then success", () =>
    Effect.gen(function*() {
      const { url, emulator } = yield* setup()
      emulator.fail({ status: 429, retryDelay: "26s", retryAfterSeconds: 26 })
      const first = yield* promise(() =>
        fetch(`${url}/v1beta/models/gemini-2.5-flash:generateContent`, {
          method: "POST",
          headers: { authorization: "Bearer t", "content-type": "application/json" },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] })
        })
      )
      expect(first.status).toBe(429)
      expect(first.headers.get("retry-after")).toBe("26")
      const body: unknown = yield* promise(() => first.json())
      expect(at(body, "error", "status")).toBe("RESOURCE_EXHAUSTED")
      expect(at(body, "error", "details", -1)).toEqual({
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        retryDelay: "26s"
      })
      const second = yield* promise(() =>
        fetch(`${url}/v1beta/models/gemini-2.5-flash:generateContent`, {
          method: "POST",
          headers: { authorization: "Bearer t" },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] })
        })
      )
      expect(second.status).toBe(200)
    }))

  it.scoped("@google/genai surfaces injected 400/500/503 and unknown models as ApiErrors with Google's status", () =>
    Effect.gen(function*() {
      const { api, emulator } = yield* setup()
      const statusOf = (model: string) =>
        promise(() =>
          api.models.generateContent({ model, contents: "x" }).then(
            () => undefined,
            (e: { status?: number; message: string }) => ({ status: e.status, message: e.message })
          )
        )
      for (const status of [400, 500, 503]) {
        emulator.fail({ status })
        const error = yield* statusOf("gemini-2.5-flash")
        expect(error?.status).toBe(status)
      }
      const notFound = yield* statusOf("custom-model")
      expect(notFound?.status).toBe(404)
      expect(notFound?.message).toContain("models/custom-model is not found for API version v1,")
    }))

  it.scoped("API keys are rejected with Google's real bodies (API 400 API_KEY_INVALID, Vertex 401)", () =>
    Effect.gen(function*() {
      const { url } = yield* setup()
      const withKey = new GoogleGenAI({ apiKey: "AIza-not-a-real-key", httpOptions: { baseUrl: url } })
      const error = yield* promise(() =>
        withKey.models.generateContent({ model: "gemini-2.5-flash", contents: "x" }).then(
          () => undefined,
          (e: { status?: number; message: string }) => e
        )
      )
      expect(error?.status).toBe(400)
      expect(error?.message).toContain("API_KEY_INVALID")
      const vertexKey = yield* promise(() =>
        fetch(
          `${url}/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent?key=abc`,
          {
            method: "POST",
            body: "{}"
          }
        )
      )
      expect(vertexKey.status).toBe(401)
      const body: unknown = yield* promise(() => vertexKey.json())
      expect(at(body, "error", "message")).toMatch(/^API keys are not supported by this API/)
      expect(at(body, "error", "details", 0, "reason")).toBe("CREDENTIALS_MISSING")
      const none = yield* promise(() =>
        fetch(`${url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: "POST", body: "{}" })
      )
      expect(none.status).toBe(401)
      expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="https://accounts.google.com/"`)
    }))

  it.scoped("a custom authorize decides, and its principal is recorded", () =>
    Effect.gen(function*() {
      const { api, emulator, url } = yield* setup({
        authorize: (req) =>
          req.headers["authorization"] === "Bearer test-access-token"
            ? { ok: true, principal: "sa@emulator-project.iam.gserviceaccount.com" }
            : GeminiEmulator.unauthenticated("ACCESS_TOKEN_EXPIRED")
      })
      yield* promise(() => api.models.generateContent({ model: "gemini-2.5-flash", contents: "x" }))
      expect(emulator.requests[0]?.principal).toBe("sa@emulator-project.iam.gserviceaccount.com")
      const expired = new GoogleGenAI({
        googleAuthOptions: { authClient: staticToken("expired") },
        httpOptions: { baseUrl: url }
      })
      const error = yield* promise(() =>
        expired.models.generateContent({ model: "gemini-2.5-flash", contents: "x" }).then(
          () => undefined,
          (e: { status?: number; message: string }) => e
        )
      )
      expect(error?.status).toBe(401)
      expect(error?.message).toContain("ACCESS_TOKEN_EXPIRED")
      expect(emulator.requests[1]?.principal).toBeUndefined()
    }))
})
