/**
 * Translation of HTTP error responses and mid-stream error payloads into ModelError.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { parseRetryAfter } from "../../internal/retryAfter.js"
import { scrub } from "../../internal/scrub.js"
import * as ModelError from "../ModelError.js"
import { withPlainPrototype } from "./fastpath.js"

/** @internal */
export interface ErrorResponse extends ModelError.Context {
  readonly status: number
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
  /** For HTTP-date `Retry-After` values. */
  readonly now?: number
}

const GoogleDetail = Schema.Struct({
  "@type": Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  retryDelay: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  fieldViolations: Schema.optional(
    Schema.Array(Schema.Struct({ field: Schema.optional(Schema.String), description: Schema.optional(Schema.String) }))
  )
})

/** `{"error": {"code", "message", "status", "details"}}` — Google APIs. */
const GoogleErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.optional(Schema.Number),
    message: Schema.optional(Schema.String),
    status: Schema.optional(Schema.String),
    details: Schema.optional(Schema.Array(GoogleDetail))
  })
})

/** `{"error": "..."}` — Ollama (also its mid-stream error line). */
const OllamaErrorBody = Schema.Struct({ error: Schema.String })

/** `{"object": "error", "message", "type", "code"}` — vLLM's flat shape. */
const FlatErrorBody = Schema.Struct({
  object: Schema.optional(Schema.String),
  message: Schema.String,
  type: Schema.optional(Schema.NullOr(Schema.String)),
  param: Schema.optional(Schema.NullOr(Schema.String)),
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.Number, Schema.String)))
})

/** `{"error": {"message", "type", "code", "param"}}` — OpenAI's and newer vLLM's nested shape. */
const NestedErrorBody = Schema.Struct({ error: FlatErrorBody })

const decodeGoogle = Schema.decodeUnknownEither(GoogleErrorBody)
const decodeOllama = Schema.decodeUnknownEither(OllamaErrorBody)
const decodeFlat = Schema.decodeUnknownEither(FlatErrorBody)
const decodeNested = Schema.decodeUnknownEither(NestedErrorBody)

/** @internal */
export { scrub }

/** `context[key]` when it is the object's own property, else `undefined`. */
const ownField = (context: object, key: string): unknown =>
  Object.hasOwn(context, key) ? Reflect.get(context, key) : undefined

const asString = (u: unknown): string | undefined => typeof u === "string" ? u : undefined
const asNumber = (u: unknown): number | undefined => typeof u === "number" ? u : undefined

/**
 * The refusal of an answer read while a prototype is polluted: the extra names
 * (scrubbed, at most five), never their values.
 *
 * @internal
 */
export const prototypePolluted = (
  context: ModelError.Context & { readonly status?: number | undefined },
  names: ReadonlyArray<string>
): ModelError.PrototypePolluted =>
  new ModelError.PrototypePolluted({
    // own fields of their type only: this runs on the polluted prototype, which a missing
    // field would read, and a client below may have read it too (fetch's `status`)
    backend: context.backend,
    model: asString(ownField(context, "model")),
    url: asString(ownField(context, "url")),
    status: asNumber(ownField(context, "status")),
    detail: `${names.slice(0, 5).map((name) => scrub(name, 80)).join(", ")}${
      names.length > 5 ? ` and ${names.length - 5} more` : ""
    } set`
  })

/**
 * `decode()` on plain prototypes, else the refusal naming the extra properties
 * (`withPlainPrototype`): whatever `decode` would have read or said on a polluted
 * prototype, the prototype is what is blamed.
 *
 * @internal
 */
export const unlessPolluted = <A>(
  context: ModelError.Context & { readonly status?: number | undefined },
  decode: () => A
): A | ModelError.PrototypePolluted => withPlainPrototype(decode, (names) => prototypePolluted(context, names))

/** Google durations: `"26s"`, `"1.5s"`, `"0.250s"`. @internal */
export const parseGoogleDuration = (value: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim())
  return match === null ? undefined : Math.round(Number(match[1]) * 1000)
}

/** @internal */
export { parseRetryAfter }

const htmlText = (body: string): string | undefined => {
  if (!/^\s*<(!doctype|html)/i.test(body)) return undefined
  const h2 = /<h2>([\s\S]*?)<\/h2>/i.exec(body)?.[1]
  const title = /<title>([\s\S]*?)<\/title>/i.exec(body)?.[1]
  const text = (h2 !== undefined && h2.trim() !== "" ? h2 : title ?? "")
    .replace(/<[^>]+>/g, "")
    .replace(/\s+/g, " ")
    .trim()
  return text
}

interface Parsed {
  readonly detail: string
  readonly googleStatus?: string
  readonly errorReason?: string
  readonly retryDelayMillis?: number
  readonly field?: string
  readonly activationUrl?: string
  readonly errorType?: string
}

const parseBody = (body: string): Parsed => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    const html = htmlText(body)
    if (html !== undefined) return { detail: html }
    return { detail: body.trim().slice(0, 300) }
  }
  const google = decodeGoogle(json)
  if (Either.isRight(google) && (google.right.error.status !== undefined || google.right.error.details !== undefined)) {
    const error = google.right.error
    const details = error.details ?? []
    const info = details.find((d) => d["@type"]?.endsWith("google.rpc.ErrorInfo") === true)
    const retry = details.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo") === true)
    const badRequest = details.find((d) => d["@type"]?.endsWith("google.rpc.BadRequest") === true)
    const activationUrl = info?.metadata?.["activationUrl"]
    const field = badRequest?.fieldViolations?.[0]?.field
    const retryDelayMillis = retry?.retryDelay === undefined ? undefined : parseGoogleDuration(retry.retryDelay)
    return {
      detail: error.message ?? "",
      ...(error.status === undefined ? {} : { googleStatus: error.status }),
      ...(info?.reason === undefined ? {} : { errorReason: info.reason }),
      ...(retryDelayMillis === undefined ? {} : { retryDelayMillis }),
      ...(field === undefined ? {} : { field }),
      ...(typeof activationUrl === "string" ? { activationUrl } : {})
    }
  }
  const ollama = decodeOllama(json)
  if (Either.isRight(ollama)) return { detail: ollama.right.error }
  const nested = decodeNested(json)
  if (Either.isRight(nested)) {
    const e = nested.right.error
    return {
      detail: e.message,
      ...(typeof e.type === "string" ? { errorType: e.type } : {}),
      ...(typeof e.param === "string" ? { field: e.param } : {})
    }
  }
  const flat = decodeFlat(json)
  if (Either.isRight(flat)) {
    return {
      detail: flat.right.message,
      ...(typeof flat.right.type === "string" ? { errorType: flat.right.type } : {}),
      ...(typeof flat.right.param === "string" ? { field: flat.right.param } : {})
    }
  }
  if (Either.isRight(google)) return { detail: google.right.error.message ?? "" }
  return { detail: body.trim().slice(0, 300) }
}

/**
 * One HTTP error response → one ModelError.
 *
 * @internal
 */
export const fromResponse = (response: ErrorResponse): ModelError.ModelError =>
  unlessPolluted(response, () => fromParsed(response, parseBody(response.body)))

/** The error for a response and what its body said. */
const fromParsed = (response: ErrorResponse, parsed: Parsed): ModelError.ModelError => {
  const base = {
    backend: response.backend,
    model: response.model,
    url: response.url,
    status: response.status,
    detail: scrub(parsed.detail),
    ...(parsed.errorReason === undefined ? {} : { errorReason: parsed.errorReason })
  }
  const retryAfterMillis = parsed.retryDelayMillis ??
    parseRetryAfter(response.headers["retry-after"], response.now ?? Date.now())
  const retry = retryAfterMillis === undefined ? {} : { retryAfterMillis }
  const status = response.status
  const googleStatus = parsed.googleStatus
  if (parsed.errorReason === "API_KEY_INVALID" || status === 401 || googleStatus === "UNAUTHENTICATED") {
    return new ModelError.Unauthorized(base)
  }
  if (status === 403 || googleStatus === "PERMISSION_DENIED") {
    return new ModelError.PermissionDenied({
      ...base,
      ...(parsed.activationUrl === undefined ? {} : { activationUrl: parsed.activationUrl })
    })
  }
  if (status === 404 || googleStatus === "NOT_FOUND") return new ModelError.NotFound(base)
  if (status === 429 || googleStatus === "RESOURCE_EXHAUSTED") return new ModelError.RateLimited({ ...base, ...retry })
  if (status === 408 || status === 504 || googleStatus === "DEADLINE_EXCEEDED") return new ModelError.Timeout(base)
  if (status === 502 || status === 503 || googleStatus === "UNAVAILABLE") {
    return new ModelError.Unavailable({ ...base, ...retry })
  }
  if (status >= 500) return new ModelError.ServerError(base)
  return new ModelError.InvalidRequest({
    ...base,
    ...(parsed.field === undefined ? {} : { field: parsed.field })
  })
}

const mayBeError = (payload: unknown): boolean =>
  typeof payload === "object" && payload !== null &&
  ("error" in payload || (payload as { readonly object?: unknown }).object === "error")

/**
 * An error reported inside a 200 stream (Ollama's final `{"error": ...}` line, an SSE
 * event carrying vLLM's flat `{"object": "error", ...}` or a nested `{"error": {...}}`).
 *
 * @internal
 */
export const fromStreamError = (context: ModelError.Context, payload: unknown): ModelError.ModelError | undefined => {
  // Every error shape has an `error` key or `object: "error"`; a normal chunk has neither,
  // and skipping the four decodes for it keeps a long stream linear and cheap.
  if (!mayBeError(payload)) return undefined
  const ollama = decodeOllama(payload)
  if (Either.isRight(ollama)) return new ModelError.ServerError({ ...context, detail: scrub(ollama.right.error) })
  const google = decodeGoogle(payload)
  if (Either.isRight(google)) {
    const code = google.right.error.code
    return fromResponse({ ...context, status: code ?? 500, headers: {}, body: JSON.stringify(payload) })
  }
  const flat = decodeFlat(payload)
  if (Either.isRight(flat) && flat.right.object === "error") {
    const code = flat.right.code
    return fromResponse({
      ...context,
      status: typeof code === "number" ? code : 500,
      headers: {},
      body: JSON.stringify(payload)
    })
  }
  const nested = decodeNested(payload)
  if (Either.isRight(nested)) {
    const code = nested.right.error.code
    return fromResponse({
      ...context,
      status: typeof code === "number" ? code : 500,
      headers: {},
      body: JSON.stringify(payload)
    })
  }
  return undefined
}
