/**
 * Typed errors of ModelService. Every backend failure becomes one of these, once, at
 * the boundary: HTTP status and body (Google JSON errors with their `details`, Cloud
 * Run's HTML pages, Ollama's `{"error"}` lines, vLLM's flat and nested bodies),
 * transport failures and bodies that do not match our Schemas. Every message says what
 * to do; none contains a token or a key.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: unique symbol = Symbol.for("effect-adc/ModelError")

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = typeof TypeId

/**
 * Is the value one of the errors of this module?
 *
 * @since 0.1.0
 * @category Guards
 */
export const isModelError = (u: unknown): u is ModelError => Predicate.hasProperty(u, TypeId)

/**
 * Which backend produced the error.
 *
 * @since 0.1.0
 * @category Models
 */
export const Backend = Schema.Literal("gemini-api", "gemini-vertex", "ollama", "openai-compatible")

/**
 * @since 0.1.0
 * @category Models
 */
export type Backend = typeof Backend.Type

const backendName: Record<Backend, string> = {
  "gemini-api": "The Gemini API",
  "gemini-vertex": "Vertex AI",
  "ollama": "The Ollama server",
  "openai-compatible": "The OpenAI-compatible server"
}

/**
 * Fields every model error carries: the backend, the HTTP status when there was one,
 * the server's own words (scrubbed of anything token-shaped) and, for Google errors,
 * the `google.rpc.ErrorInfo` reason.
 */
const common = {
  backend: Backend,
  /** The model the request named. */
  model: Schema.optional(Schema.String),
  /** The request's origin and path (never its query string or headers). */
  url: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  detail: Schema.String,
  errorReason: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}

/**
 * Is this the OpenAI-compatible backend on Vertex AI (`VertexOpenAI`: a
 * `…/projects/{p}/locations/{l}/endpoints/{id}/…` path on any host, PSC included)
 * rather than a Cloud Run service? The hints differ: IAM on the project, not run.invoker.
 */
const onVertexEndpoint = (error: { readonly backend: Backend; readonly url?: string | undefined }) =>
  error.backend === "openai-compatible" && error.url !== undefined &&
  /\/projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/]+\//.test(error.url)

/** A private Cloud Run service (Ollama, vLLM), whose hints are about ID tokens and run.invoker. */
const onCloudRun = (error: { readonly backend: Backend; readonly url?: string | undefined }) =>
  error.backend === "ollama" || (error.backend === "openai-compatible" && !onVertexEndpoint(error))

const statusText = (status: number | undefined) => status === undefined ? "" : ` (HTTP ${status})`
/** The server's words, without a final full stop (the message adds its own). */
const said = (detail: string) => {
  const trimmed = detail.trim().replace(/[.\s]+$/, "")
  return trimmed === "" ? "" : `: ${trimmed}`
}

/** Which model at which URL, when known: ` [model gemini-2.5-flash at https://host/path]`. */
const located = (error: { readonly model?: string | undefined; readonly url?: string | undefined }) =>
  error.model === undefined && error.url === undefined
    ? ""
    : ` [${
      [
        error.model === undefined ? undefined : `model ${error.model}`,
        error.url === undefined ? undefined : `at ${error.url}`
      ]
        .filter((s) => s !== undefined).join(" ")
    }]`

/**
 * The context every error of one call carries: backend, model, and the request's
 * origin and path.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Context {
  readonly backend: Backend
  readonly model?: string | undefined
  readonly url?: string | undefined
}

/**
 * A URL as errors show it: origin and path only (no query string, no userinfo).
 *
 * @since 0.2.0
 * @category Utils
 */
export const urlForErrors = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return url.replace(/[?#].*$/, "")
  }
}

/**
 * What every model error adds to its `Schema.TaggedError` class: the TypeId, whether
 * the retry policy may try again, and the server's retry-after (from
 * `retryAfterMillis`, on the errors that carry it).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeScript requires a mixin's base constructor to take `...args: any[]` (TS2545); the arguments are the base class's own
const Retryable = <Base extends new(...args: Array<any>) => object>(Base: Base, retryable: boolean) =>
  class extends Base {
    /** @since 0.1.0 */
    readonly [TypeId]: TypeId = TypeId
    /** @since 0.1.0 */
    get isRetryable(): boolean {
      return retryable
    }
    /** @since 0.1.0 */
    get retryAfter(): Option.Option<Duration.Duration> {
      const millis: unknown = (this as { readonly retryAfterMillis?: unknown }).retryAfterMillis
      return typeof millis === "number" ? Option.some(Duration.millis(millis)) : Option.none()
    }
  }

/**
 * The server asked us to slow down (HTTP 429, `RESOURCE_EXHAUSTED`, Cloud Run's queue
 * timeout at max instances). `retryAfterMillis` comes from `Retry-After` or Google's
 * `RetryInfo.retryDelay` when the server sent one.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimited extends Retryable(
  Schema.TaggedError<RateLimited>("effect-adc/RateLimited")("RateLimited", {
    ...common,
    retryAfterMillis: Schema.optional(Schema.Number)
  }),
  true
) {
  /** @since 0.1.0 */
  override get message(): string {
    const wait = this.retryAfterMillis === undefined ? "" : ` The server asked to wait ${this.retryAfterMillis} ms.`
    return `${backendName[this.backend]} is rate limiting this caller${statusText(this.status)}${located(this)}${
      said(this.detail)
    }.` +
      `${wait} The default retry policy waits and retries; if it persists, request a higher quota ` +
      `(https://cloud.google.com/docs/quotas/help/request_increase), lower concurrency, or raise the ` +
      `Cloud Run service's max instances.`
  }
}

/**
 * The credentials were missing, invalid or expired (HTTP 401, or a Google 400
 * `API_KEY_INVALID`). The transport has already invalidated the token and replayed
 * the request once when this reaches you.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Unauthorized extends Retryable(
  Schema.TaggedError<Unauthorized>("effect-adc/Unauthorized")("Unauthorized", {
    ...common
  }),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.errorReason === "API_KEY_INVALID" || this.errorReason === "CREDENTIALS_MISSING"
      ? "effect-adc never sends API keys: check that no proxy or environment adds one, and that the " +
        "Authorization header carries an OAuth access token from Application Default Credentials."
      : onCloudRun(this)
      ? "A private Cloud Run service needs a Google-signed ID token whose audience is the service URL " +
        "(or a custom audience configured on it); check the configured audience."
      : "Check Application Default Credentials (`gcloud auth application-default login` locally, the " +
        "service account on Cloud Run) and that the access token has the cloud-platform scope."
    return `${backendName[this.backend]} rejected the credentials${statusText(this.status)}${located(this)}${
      said(this.detail)
    }. ${hint}`
  }
}

/**
 * The caller is authenticated but not allowed (HTTP 403): IAM denial, a disabled API,
 * Cloud Run's HTML "Forbidden" page.
 *
 * @since 0.1.0
 * @category Errors
 */
export class PermissionDenied extends Retryable(
  Schema.TaggedError<PermissionDenied>("effect-adc/PermissionDenied")(
    "PermissionDenied",
    {
      ...common,
      activationUrl: Schema.optional(Schema.String)
    }
  ),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.errorReason === "SERVICE_DISABLED"
      ? `Enable the API for the quota project${this.activationUrl === undefined ? "" : ` at ${this.activationUrl}`}.`
      : onCloudRun(this)
      ? "Grant the caller's service account roles/run.invoker on the Cloud Run service."
      : this.backend === "gemini-vertex" || onVertexEndpoint(this)
      ? "Grant the caller roles/aiplatform.user on the project, and check project, location and model name."
      : "Grant the caller roles/serviceusage.serviceUsageConsumer on the quota project (x-goog-user-project) " +
        "and enable generativelanguage.googleapis.com there."
    return `${backendName[this.backend]} denied the request${statusText(this.status)}${located(this)}${
      said(this.detail)
    }. ${hint}`
  }
}

/**
 * The model, endpoint or resource does not exist (HTTP 404).
 *
 * @since 0.1.0
 * @category Errors
 */
export class NotFound extends Retryable(
  Schema.TaggedError<NotFound>("effect-adc/NotFound")("NotFound", {
    ...common
  }),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.backend === "ollama"
      ? "Pull the model into the Ollama image (`ollama pull MODEL`) or fix the model name."
      : onVertexEndpoint(this)
      ? "Check the endpoint ID, the location and the model name (on the shared `openapi` endpoint a model " +
        "carries its publisher: `google/gemini-2.5-flash`)."
      : this.backend === "openai-compatible"
      ? "Use the model name vLLM serves (GET /v1/models lists it; `--served-model-name` sets it)."
      : this.backend === "gemini-vertex"
      ? "Check the model name and that it is available in the configured location (try `global`)."
      : "Check the model name (models.list shows what the API serves) and the API version."
    return `${backendName[this.backend]} did not find it${statusText(this.status)}${located(this)}${
      said(this.detail)
    }. ${hint}`
  }
}

/**
 * The request was rejected as malformed (HTTP 400 `INVALID_ARGUMENT`, 422, Ollama's
 * JSON errors, vLLM's `BadRequestError`). `field` names the offending field when the
 * server said which.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidRequest extends Retryable(
  Schema.TaggedError<InvalidRequest>("effect-adc/InvalidRequest")(
    "InvalidRequest",
    {
      ...common,
      field: Schema.optional(Schema.String)
    }
  ),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} rejected the request as invalid${statusText(this.status)}${located(this)}${
      said(this.detail)
    }` +
      `${this.field === undefined ? "" : ` (field ${this.field})`}. Fix the request: a setting this model ` +
      `does not support, a malformed tool schema or an unsupported content part are the usual causes.`
  }
}

/**
 * The prompt was blocked by safety filters before any answer was produced
 * (`promptFeedback.blockReason` with no candidates). `blockReason` is the server's
 * reason, `usage` the prompt's token count. An answer that a filter stopped after it
 * started is not an error: it returns with `finishReason: "content-filter"`, its
 * content, safety ratings and finish message.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ContentBlocked extends Retryable(
  Schema.TaggedError<ContentBlocked>("effect-adc/ContentBlocked")(
    "ContentBlocked",
    {
      ...common,
      where: Schema.Literal("prompt", "response"),
      blockReason: Schema.String,
      /** The tokens the blocked prompt counted, when the server said. */
      usage: Schema.optional(Schema.Struct({
        inputTokens: Schema.optional(Schema.Number),
        totalTokens: Schema.optional(Schema.Number)
      }))
    }
  ),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} blocked the ${this.where} (${this.blockReason})${located(this)}${
      said(this.detail)
    }. ` +
      `Rephrase the ${
        this.where === "prompt" ? "prompt" : "request"
      } or adjust safetySettings where the model allows it.`
  }
}

/**
 * The backend is temporarily unavailable (HTTP 502/503: overloaded model, Cloud Run
 * cold start or scaling).
 *
 * @since 0.1.0
 * @category Errors
 */
export class Unavailable extends Retryable(
  Schema.TaggedError<Unavailable>("effect-adc/Unavailable")("Unavailable", {
    ...common,
    retryAfterMillis: Schema.optional(Schema.Number)
  }),
  true
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} is temporarily unavailable${statusText(this.status)}${located(this)}${
      said(this.detail)
    }. ` +
      `It is retried with backoff; for Cloud Run GPU services set min instances to avoid cold starts.`
  }
}

/**
 * The backend failed internally (HTTP 500 and other 5xx, Ollama's mid-stream error).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServerError extends Retryable(
  Schema.TaggedError<ServerError>("effect-adc/ServerError")("ServerError", {
    ...common
  }),
  true
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} failed${statusText(this.status)}${located(this)}${said(this.detail)}. ` +
      `It is retried when no output was emitted yet; if it persists, check the server's logs.`
  }
}

/**
 * No answer within the per-request timeout, or the server's deadline (HTTP 504
 * `DEADLINE_EXCEEDED`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class Timeout extends Retryable(
  Schema.TaggedError<Timeout>("effect-adc/Timeout")("Timeout", {
    ...common
  }),
  true
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} did not answer in time${statusText(this.status)}${located(this)}${
      said(this.detail)
    }. ` +
      `Raise the request's timeout (a GPU Cloud Run cold start takes tens of seconds) or lower maxOutputTokens.`
  }
}

/**
 * The request did not reach the server or the connection broke.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Transport extends Retryable(
  Schema.TaggedError<Transport>("effect-adc/Transport")("Transport", {
    ...common
  }),
  true
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Could not talk to ${backendName[this.backend].replace(/^The /, "the ")}${located(this)}${
      said(this.detail)
    }. ` +
      `Check the base URL, DNS and network egress (VPC connector, proxy).`
  }
}

/**
 * A body did not match what the backend's wire format promises; `detail` says what
 * did not match and where.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Decode extends Retryable(
  Schema.TaggedError<Decode>("effect-adc/Decode")("Decode", {
    ...common
  }),
  false
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${backendName[this.backend]} answered with a body we could not read${statusText(this.status)}${
      located(this)
    }${
      said(this.detail)
    }. Check that the base URL points at the right kind of server; if it does, please report this with the body.`
  }
}

/**
 * `Object.prototype` (or `Array.prototype`, under an index) carries properties beyond
 * the standard ones in this process: prototype pollution, most often a deep merge of
 * untrusted JSON somewhere in the app. Every object parsed from a backend's answer
 * would inherit them, so a field the answer left out would read as the polluted value
 * (text, a tool call, an error). The answer was not read. `detail` names the
 * properties (never their values). Not the backend's fault; retrying does not help.
 *
 * @since 0.4.0
 * @category Errors
 */
export class PrototypePolluted extends Retryable(
  Schema.TaggedError<PrototypePolluted>("effect-adc/PrototypePolluted")("PrototypePolluted", {
    ...common
  }),
  false
) {
  /** @since 0.4.0 */
  override get message(): string {
    return `The answer of ${backendName[this.backend].replace(/^The /, "the ")}${located(this)} was not read: ` +
      `this process has a polluted prototype${said(this.detail)}. Every object parsed from the answer would ` +
      `inherit those properties, so a field the backend left out would read as the polluted value. Find the code ` +
      `that writes to Object.prototype (often a deep merge of untrusted JSON, through \`__proto__\` or ` +
      `\`constructor.prototype\`); the backend is not at fault and retrying will not help.`
  }
}

/**
 * The stream's body ended before its protocol's end marker (Gemini: no `finishReason`;
 * Ollama: no `done: true`; OpenAI-compatible: no `finish_reason` and no `[DONE]`):
 * a proxy or the server cut it. The chunks that arrived before were delivered; the
 * answer is incomplete.
 *
 * @since 0.2.0
 * @category Errors
 */
export class StreamTruncated extends Retryable(
  Schema.TaggedError<StreamTruncated>("effect-adc/StreamTruncated")("StreamTruncated", {
    ...common
  }),
  false
) {
  /** @since 0.2.0 */
  override get message(): string {
    return `${backendName[this.backend]} ended the stream before its end${located(this)}${said(this.detail)}. ` +
      `The answer is incomplete: retry the request, and check proxies or load balancers in between for ` +
      `response size or duration limits.`
  }
}

/**
 * No token could be had for the request, so it was never sent: the credentials are
 * missing or cannot mint this kind of token (an ID token from user credentials, a bad
 * audience), or the token endpoint failed. `cause` is the AuthError, which says what
 * to fix.
 *
 * @since 0.2.0
 * @category Errors
 */
export class CredentialsUnavailable extends Retryable(
  Schema.TaggedError<CredentialsUnavailable>("effect-adc/CredentialsUnavailable")("CredentialsUnavailable", {
    ...common,
    /** The AuthError's tag (`CredentialsNotFound`, `IdTokenUnsupported`, ...). */
    authError: Schema.String
  }),
  false
) {
  /** @since 0.2.0 */
  override get message(): string {
    return `No token for ${backendName[this.backend].replace(/^The /, "the ")}${located(this)}: the request was ` +
      `not sent (${this.authError})${said(this.detail)}. Fix the credentials as the auth error says ` +
      `(\`effect-adc doctor\` checks them).`
  }
}

/**
 * A `Router` has no route for the model: nothing was sent. `routes` are the patterns
 * it has.
 *
 * @since 0.2.0
 * @category Errors
 */
export class NoRoute extends Retryable(
  Schema.TaggedError<NoRoute>("effect-adc/NoRoute")("NoRoute", {
    model: Schema.String,
    routes: Schema.Array(Schema.String),
    detail: Schema.optionalWith(Schema.String, { default: () => "" })
  }),
  false
) {
  /** @since 0.2.0 */
  override get message(): string {
    const routes = this.routes.length === 0 ? "none" : this.routes.join(", ")
    return `No route for model ${JSON.stringify(this.model)} (routes: ${routes}): nothing was sent. Add a route ` +
      `whose pattern matches it (EFFECT_ADC_MODEL_ROUTES=pattern=backend,...) or fix the model name.`
  }
}

/**
 * A request feature a backend may not have (see {@link Unsupported}).
 *
 * @since 0.3.0
 * @category Models
 */
export const Feature = Schema.Literal(
  "thinking.level",
  "thinking.budget",
  "thinking.includeThoughts",
  "safety",
  "cachedContent",
  "serviceTier",
  "labels",
  "responseModalities",
  "mediaResolution",
  "googleSearch",
  "codeExecution",
  "urlContext",
  "toolChoice",
  "embedding.taskType",
  "embedding.title",
  "embedding.autoTruncate"
)

/**
 * @since 0.3.0
 * @category Models
 */
export type Feature = typeof Feature.Type

const passThroughKey: Record<Backend, string> = {
  "gemini-api": "gemini",
  "gemini-vertex": "gemini",
  "ollama": "ollama",
  "openai-compatible": "openai"
}

/**
 * The backend cannot honour a feature the request asked for (`feature`; `detail` says
 * what it has instead), so the request was not sent: a feature is never dropped
 * silently.
 *
 * @since 0.3.0
 * @category Errors
 */
export class Unsupported extends Retryable(
  Schema.TaggedError<Unsupported>("effect-adc/Unsupported")("Unsupported", {
    ...common,
    feature: Feature
  }),
  false
) {
  /** @since 0.3.0 */
  override get message(): string {
    const refused = `${backendName[this.backend]} cannot honour \`${this.feature}\`${located(this)}${
      said(this.detail)
    }. Nothing was sent. `
    return this.feature.startsWith("embedding.")
      ? `${refused}Remove it from the request or use a backend that has it (docs/embeddings.md lists which ` +
        `backend has which setting).`
      : `${refused}Remove it from the request, send the backend's own field through ` +
        `\`providerOptions.${passThroughKey[this.backend]}\`, or route the request to a backend that has it ` +
        `(docs/models.md lists which backend has which feature).`
  }
}

/**
 * Every error ModelService can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type ModelError =
  | RateLimited
  | Unauthorized
  | PermissionDenied
  | NotFound
  | InvalidRequest
  | ContentBlocked
  | Unavailable
  | ServerError
  | Timeout
  | Transport
  | Decode
  | PrototypePolluted
  | StreamTruncated
  | CredentialsUnavailable
  | NoRoute
  | Unsupported

/**
 * @since 0.1.0
 * @category Errors
 */
export const ModelError: Schema.Union<[
  typeof RateLimited,
  typeof Unauthorized,
  typeof PermissionDenied,
  typeof NotFound,
  typeof InvalidRequest,
  typeof ContentBlocked,
  typeof Unavailable,
  typeof ServerError,
  typeof Timeout,
  typeof Transport,
  typeof Decode,
  typeof PrototypePolluted,
  typeof StreamTruncated,
  typeof CredentialsUnavailable,
  typeof NoRoute,
  typeof Unsupported
]> = Schema.Union(
  RateLimited,
  Unauthorized,
  PermissionDenied,
  NotFound,
  InvalidRequest,
  ContentBlocked,
  Unavailable,
  ServerError,
  Timeout,
  Transport,
  Decode,
  PrototypePolluted,
  StreamTruncated,
  CredentialsUnavailable,
  NoRoute,
  Unsupported
)

/**
 * Should the retry policy try again after this error? (Unauthorized is not retried by
 * the policy: the transport already invalidated the token and replayed once.)
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isRetryable = (error: ModelError): boolean => error.isRetryable
