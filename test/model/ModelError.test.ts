import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import { fromResponse, fromStreamError, parseRetryAfter, scrub } from "../../src/model/internal/errors.js"
import * as ModelError from "../../src/model/ModelError.js"
import { fixturesRoot } from "./support.js"

const fixture = (path: string) =>
  JSON.parse(readFileSync(new URL(path, fixturesRoot), "utf8")) as {
    status: number
    body: string
  }

describe("ModelError translation", () => {
  it("Cloud Run's HTML 401 page → Unauthorized with the ID-token hint", () => {
    const recorded = fixture("cloudrun/error-401-unauthorized-html.json")
    const error = fromResponse({ backend: "ollama", status: recorded.status, headers: {}, body: recorded.body })
    expect(error._tag).toBe("Unauthorized")
    expect(error.detail).toBe("Your client does not have permission to the requested URL /endpoint/xxxxx.")
    expect(error.message).toContain("ID token whose audience is the service URL")
    expect(error.isRetryable).toBe(false)
  })

  it("Cloud Run's HTML 403 page → PermissionDenied naming roles/run.invoker", () => {
    const body = "<html><head><title>403 Forbidden</title></head><body><h1>Error: Forbidden</h1>" +
      "<h2>Your client does not have permission to get URL <code>/api/chat</code> from this server.</h2></body></html>"
    const error = fromResponse({ backend: "openai-compatible", status: 403, headers: {}, body })
    expect(error._tag).toBe("PermissionDenied")
    expect(error.detail).toContain("/api/chat")
    expect(error.message).toContain("roles/run.invoker")
  })

  it("Cloud Run's queue timeout 429 with Retry-After seconds → RateLimited with retryAfter", () => {
    const error = fromResponse({
      backend: "ollama",
      status: 429,
      headers: { "retry-after": "7" },
      body: "Rate exceeded."
    })
    expect(error._tag).toBe("RateLimited")
    expect(Option.map(error.retryAfter, Duration.toMillis)).toEqual(Option.some(7000))
  })

  it("Retry-After as an HTTP date is relative to now", () => {
    const now = Date.parse("Fri, 03 Jan 2025 18:08:50 GMT")
    expect(parseRetryAfter("Fri, 03 Jan 2025 18:09:00 GMT", now)).toBe(10_000)
    expect(parseRetryAfter("garbage", now)).toBeUndefined()
  })

  it("503 with Retry-After → Unavailable with retryAfter; 504 → Timeout; 500 → ServerError", () => {
    const unavailable = fromResponse({
      backend: "gemini-vertex",
      status: 503,
      headers: { "retry-after": "2" },
      body: ""
    })
    expect(unavailable._tag).toBe("Unavailable")
    expect(Option.map(unavailable.retryAfter, Duration.toMillis)).toEqual(Option.some(2000))
    expect(fromResponse({ backend: "gemini-api", status: 504, headers: {}, body: "" })._tag).toBe("Timeout")
    const server = fromResponse({
      backend: "gemini-api",
      status: 500,
      headers: {},
      body: JSON.stringify({ error: { code: 500, message: "An internal error has occurred.", status: "INTERNAL" } })
    })
    expect(server._tag).toBe("ServerError")
    expect(server.isRetryable).toBe(true)
  })

  it("vLLM's nested error body → InvalidRequest with the param as field", () => {
    const body = JSON.stringify({
      error: {
        message: "This model's maximum context length is 8192 tokens.",
        type: "BadRequestError",
        param: "messages",
        code: 400
      }
    })
    const error = fromResponse({ backend: "openai-compatible", status: 400, headers: {}, body })
    expect(error._tag).toBe("InvalidRequest")
    if (error._tag !== "InvalidRequest") return
    expect(error.field).toBe("messages")
    expect(error.detail).toBe("This model's maximum context length is 8192 tokens.")
  })

  it("Google BadRequest fieldViolations name the field", () => {
    const body = JSON.stringify({
      error: {
        code: 400,
        message: "Invalid JSON payload received.",
        status: "INVALID_ARGUMENT",
        details: [{
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "contents[0].parts", description: "Invalid JSON payload" }]
        }]
      }
    })
    const error = fromResponse({ backend: "gemini-api", status: 400, headers: {}, body })
    expect(error._tag === "InvalidRequest" && error.field).toBe("contents[0].parts")
  })

  it("mid-stream error payloads: Ollama line, nested SSE error", () => {
    expect(fromStreamError({ backend: "ollama" }, { error: "boom" })?._tag).toBe("ServerError")
    expect(fromStreamError({ backend: "openai-compatible" }, { error: { message: "overloaded", code: 503 } })?._tag)
      .toBe(
        "Unavailable"
      )
    expect(
      fromStreamError({ backend: "openai-compatible" }, {
        object: "error",
        message: "engine died",
        type: "InternalServerError",
        param: null,
        code: 500
      })?._tag
    ).toBe("ServerError")
    expect(fromStreamError({ backend: "ollama" }, { done: false })).toBeUndefined()
  })

  it("never puts a token into a message", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    const body = JSON.stringify({ error: `bad token ${jwt} and Bearer ya29.a0AfH6SMBsecret` })
    const error = fromResponse({ backend: "ollama", status: 401, headers: {}, body })
    expect(error.message).not.toContain(jwt)
    expect(error.message).not.toContain("ya29.a0AfH6SMBsecret")
    expect(scrub("key AIzaSyA1234567890abcdefghijklmnop")).toBe("key <redacted>")
  })

  it("errors are Schema.TaggedErrors that round-trip through the ModelError union", () => {
    const error = new ModelError.RateLimited({
      backend: "gemini-api",
      status: 429,
      detail: "slow",
      retryAfterMillis: 26_000
    })
    const encoded = Schema.encodeSync(ModelError.ModelError)(error)
    const decoded = Schema.decodeUnknownEither(ModelError.ModelError)(encoded)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) {
      expect(decoded.right._tag).toBe("RateLimited")
      expect(Option.map(decoded.right.retryAfter, Duration.toSeconds)).toEqual(Option.some(26))
    }
    expect(ModelError.isModelError(error)).toBe(true)
    expect(ModelError.isModelError(new Error("x"))).toBe(false)
    expect(error).toBeInstanceOf(Error)
  })

  it("isRetryable per class", () => {
    const base = { backend: "ollama" as const, detail: "" }
    const retryable = [
      new ModelError.RateLimited(base),
      new ModelError.Unavailable(base),
      new ModelError.ServerError(base),
      new ModelError.Timeout(base),
      new ModelError.Transport(base)
    ]
    const final = [
      new ModelError.Unauthorized(base),
      new ModelError.PermissionDenied(base),
      new ModelError.NotFound(base),
      new ModelError.InvalidRequest(base),
      new ModelError.ContentBlocked({ ...base, where: "prompt", blockReason: "SAFETY" }),
      new ModelError.Decode(base),
      new ModelError.PrototypePolluted(base),
      new ModelError.Unsupported({ ...base, feature: "safety" })
    ]
    expect(retryable.map(ModelError.isRetryable)).toEqual(retryable.map(() => true))
    expect(final.map(ModelError.isRetryable)).toEqual(final.map(() => false))
  })

  it("Unsupported names the feature and the backend, says nothing was sent and where to go instead", () => {
    const error = new ModelError.Unsupported({
      backend: "openai-compatible",
      model: "google/gemma-3-4b-it",
      feature: "googleSearch",
      detail: "Google Search grounding is a Gemini feature; vLLM's OpenAI-compatible API has none"
    })
    expect(error.message).toBe(
      "The OpenAI-compatible server cannot honour `googleSearch` [model google/gemma-3-4b-it]: Google Search " +
        "grounding is a Gemini feature; vLLM's OpenAI-compatible API has none. Nothing was sent. Remove it from the " +
        "request, send the backend's own field through `providerOptions.openai`, or route the request to a backend " +
        "that has it (docs/models.md lists which backend has which feature)."
    )
    const decoded = Schema.decodeUnknownSync(ModelError.ModelError)(Schema.encodeSync(ModelError.ModelError)(error))
    expect(decoded._tag === "Unsupported" && decoded.feature).toBe("googleSearch")
  })

  it("PrototypePolluted blames the process, not the backend, names the property and round-trips as a ModelError", () => {
    const error = new ModelError.PrototypePolluted({
      backend: "gemini-api",
      model: "gemini-2.5-flash",
      detail: "Object.prototype.parts set"
    })
    expect(error.message).toBe(
      "The answer of the Gemini API [model gemini-2.5-flash] was not read: this process has a polluted prototype: " +
        "Object.prototype.parts set. Every object parsed from the answer would inherit those properties, so a field " +
        "the backend left out would read as the polluted value. Find the code that writes to Object.prototype " +
        "(often a deep merge of untrusted JSON, through `__proto__` or `constructor.prototype`); the backend is not " +
        "at fault and retrying will not help."
    )
    const decoded = Schema.decodeUnknownSync(ModelError.ModelError)(Schema.encodeSync(ModelError.ModelError)(error))
    expect(decoded._tag).toBe("PrototypePolluted")
    expect(ModelError.isModelError(decoded)).toBe(true)
  })
})
