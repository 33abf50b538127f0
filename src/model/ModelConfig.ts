/**
 * The whole model stack from environment variables, so that swapping a backend — or
 * routing between several — is a configuration change:
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `EFFECT_ADC_MODEL_BACKEND` | `gemini-vertex`, `gemini-api`, `ollama`, `openai-compatible` or `vertex-openai` (Vertex AI's OpenAI-compatible endpoint) (ignored when routes are set) | `gemini-vertex` |
 * | `EFFECT_ADC_MODEL_ROUTES` | comma-separated `pattern=backend` pairs, first match wins, `*` matches anything: `gemini-*=gemini-vertex,gemma*=ollama` | none (one backend) |
 * | `EFFECT_ADC_MODEL_FALLBACK` | with routes: the backend a retryable failure falls back to | none |
 * | `EFFECT_ADC_MODEL_FALLBACK_MODEL` | the model name the fallback backend is asked for | the request's model |
 * | `GOOGLE_CLOUD_PROJECT` | Vertex project | required for `gemini-vertex` and `vertex-openai` |
 * | `GOOGLE_CLOUD_LOCATION` | Vertex location (`global`, a multi-region `us` / `eu`, or a region) | `global` |
 * | `EFFECT_ADC_VERTEX_ENDPOINT` | `vertex-openai`: the Vertex AI endpoint ID a model is deployed to (Model Garden) | `openapi` (Google's and partners' models) |
 * | `EFFECT_ADC_QUOTA_PROJECT` | Gemini API quota project (`x-goog-user-project`) | none |
 * | `EFFECT_ADC_MODEL_URL` | Cloud Run service URL (Ollama, vLLM), or a Gemini base URL override | required for `ollama`, `openai-compatible` |
 * | `EFFECT_ADC_<BACKEND>_URL` | the URL of one backend (`EFFECT_ADC_OLLAMA_URL`, `EFFECT_ADC_OPENAI_COMPATIBLE_URL`, `EFFECT_ADC_GEMINI_VERTEX_URL`, `EFFECT_ADC_GEMINI_API_URL`, `EFFECT_ADC_VERTEX_OPENAI_URL`: a dedicated endpoint `https://{id}.{region}-{n}.prediction.vertexai.goog` or a Private Service Connect address), wins over `EFFECT_ADC_MODEL_URL`; a configured URL's origin may receive the token | `EFFECT_ADC_MODEL_URL` |
 * | `EFFECT_ADC_MODEL_AUDIENCE` | ID token audience | the URL's origin |
 * | `EFFECT_ADC_<BACKEND>_AUDIENCE` | the audience of one Cloud Run backend (`EFFECT_ADC_OLLAMA_AUDIENCE`, `EFFECT_ADC_OPENAI_COMPATIBLE_AUDIENCE`) | `EFFECT_ADC_MODEL_AUDIENCE` |
 * | `EFFECT_ADC_MODEL_TOKEN_HEADER` | `Authorization` or `X-Serverless-Authorization` | `Authorization` |
 * | `EFFECT_ADC_MODEL_API_KEY` | vLLM `--api-key` (sent as `Authorization`; the ID token then goes in `X-Serverless-Authorization`) | none |
 * | `EFFECT_ADC_MODEL_TIMEOUT` | per-attempt timeout (`30 seconds`) | 2 min (Gemini), 5 min (Cloud Run) |
 *
 * A missing or invalid variable fails the layer with `ModelConfigError`, naming the
 * variable and what to set.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AuthService } from "../auth/AuthService.js"
import * as GeminiApi from "./gemini/GeminiApi.js"
import * as GeminiVertex from "./gemini/GeminiVertex.js"
import * as ModelConfigError from "./ModelConfigError.js"
import type { ModelService } from "./ModelService.js"
import * as Ollama from "./ollama/Ollama.js"
import * as OpenAICompatible from "./openai/OpenAICompatible.js"
import * as VertexOpenAI from "./openai/VertexOpenAI.js"
import * as Router from "./Router.js"

/**
 * @since 0.1.0
 * @category Models
 */
export const BackendName = Schema.Literal(
  "gemini-vertex",
  "gemini-api",
  "ollama",
  "openai-compatible",
  "vertex-openai"
)

/**
 * @since 0.1.0
 * @category Models
 */
export type BackendName = typeof BackendName.Type

/**
 * One entry of `EFFECT_ADC_MODEL_ROUTES`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RouteConfig {
  readonly match: string
  readonly backend: BackendName
}

/**
 * `gemini-*=gemini-vertex,gemma*=ollama` ⇄ the routes, in order.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RoutesFromString: Schema.Schema<ReadonlyArray<RouteConfig>, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Array(Schema.Struct({ match: Schema.String, backend: BackendName })),
  {
    strict: true,
    decode: (text, _, ast) => {
      const entries = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "")
      if (entries.length === 0) return ParseResult.fail(new ParseResult.Type(ast, text, "no routes"))
      const routes: Array<RouteConfig> = []
      for (const entry of entries) {
        const at = entry.lastIndexOf("=")
        const match = entry.slice(0, at).trim()
        const backend = entry.slice(at + 1).trim()
        if (at <= 0 || match === "") {
          return ParseResult.fail(new ParseResult.Type(ast, text, `"${entry}" is not pattern=backend`))
        }
        if (!Schema.is(BackendName)(backend)) {
          return ParseResult.fail(
            new ParseResult.Type(
              ast,
              text,
              `unknown backend "${backend}" in "${entry}" (use ${BackendName.literals.join(", ")})`
            )
          )
        }
        routes.push({ match, backend })
      }
      return ParseResult.succeed(routes)
    },
    encode: (routes) => ParseResult.succeed(routes.map((route) => `${route.match}=${route.backend}`).join(","))
  }
)

/**
 * What the environment says.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelConfig {
  readonly backend: BackendName
  readonly project: Option.Option<string>
  readonly location: string
  /** `EFFECT_ADC_VERTEX_ENDPOINT`: the `vertex-openai` endpoint ID (default `openapi`). */
  readonly vertexEndpoint?: Option.Option<string> | undefined
  readonly quotaProject: Option.Option<string>
  readonly url: Option.Option<string>
  readonly audience: Option.Option<string>
  readonly header: "Authorization" | "X-Serverless-Authorization" | undefined
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly timeout: Option.Option<Duration.Duration>
  /** Per-backend URLs (`EFFECT_ADC_<BACKEND>_URL`), over `url`. */
  readonly urls?: Partial<Record<BackendName, string>> | undefined
  /** Per-backend audiences (`EFFECT_ADC_<BACKEND>_AUDIENCE`), over `audience`. */
  readonly audiences?: Partial<Record<BackendName, string>> | undefined
  /** `EFFECT_ADC_MODEL_ROUTES`: when set, a Router over the named backends. */
  readonly routes?: Option.Option<ReadonlyArray<RouteConfig>> | undefined
  readonly fallback?: Option.Option<BackendName> | undefined
  readonly fallbackModel?: Option.Option<string> | undefined
}

const url = (name: string) =>
  Config.string(name).pipe(
    Config.mapAttempt((value) => {
      const parsed = new URL(value)
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("not an http(s) URL")
      return value.replace(/\/+$/, "")
    })
  )

const variable = (backend: BackendName, what: "URL" | "AUDIENCE") =>
  `EFFECT_ADC_${backend.toUpperCase().replace(/-/g, "_")}_${what}`

const perBackend = (
  what: "URL" | "AUDIENCE",
  read: (name: string) => Config.Config<string>
): Config.Config<Partial<Record<BackendName, string>>> =>
  Config.map(
    Config.all(BackendName.literals.map((backend) =>
      Config.map(Config.option(read(variable(backend, what))), (value) => [backend, value] as const)
    )),
    (pairs) => {
      const out: Partial<Record<BackendName, string>> = {}
      for (const [backend, value] of pairs) {
        if (Option.isSome(value)) {
          out[backend] = value.value
        }
      }
      return out
    }
  )

/**
 * @since 0.1.0
 * @category Config
 */
export const config: Config.Config<ModelConfig> = Config.all({
  backend: Schema.Config("EFFECT_ADC_MODEL_BACKEND", BackendName).pipe(Config.withDefault("gemini-vertex" as const)),
  project: Config.option(Config.string("GOOGLE_CLOUD_PROJECT")),
  location: Config.string("GOOGLE_CLOUD_LOCATION").pipe(Config.withDefault("global")),
  vertexEndpoint: Config.option(Config.string("EFFECT_ADC_VERTEX_ENDPOINT")),
  quotaProject: Config.option(Config.string("EFFECT_ADC_QUOTA_PROJECT")),
  url: Config.option(url("EFFECT_ADC_MODEL_URL")),
  urls: perBackend("URL", url),
  audience: Config.option(Config.string("EFFECT_ADC_MODEL_AUDIENCE")),
  audiences: perBackend("AUDIENCE", Config.string),
  header: Config.option(
    Schema.Config("EFFECT_ADC_MODEL_TOKEN_HEADER", Schema.Literal("Authorization", "X-Serverless-Authorization"))
  ).pipe(
    Config.map(Option.getOrUndefined)
  ),
  apiKey: Config.option(Config.redacted("EFFECT_ADC_MODEL_API_KEY")),
  timeout: Config.option(Config.duration("EFFECT_ADC_MODEL_TIMEOUT")),
  routes: Config.option(Schema.Config("EFFECT_ADC_MODEL_ROUTES", RoutesFromString)),
  fallback: Config.option(Schema.Config("EFFECT_ADC_MODEL_FALLBACK", BackendName)),
  fallbackModel: Config.option(Config.string("EFFECT_ADC_MODEL_FALLBACK_MODEL"))
})

type Built = Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService>

/** One backend's layer; `why` says what asked for it (for the error message). */
const backendLayer = (c: ModelConfig, backend: BackendName, why: string): Built => {
  const timeout = Option.getOrUndefined(c.timeout)
  const serviceUrl = c.urls?.[backend] ?? Option.getOrUndefined(c.url)
  const urlSetting = c.urls?.[backend] !== undefined ? variable(backend, "URL") : "EFFECT_ADC_MODEL_URL"
  const audience = c.audiences?.[backend] ?? Option.getOrUndefined(c.audience)
  const origins = serviceUrl === undefined ? undefined : [new URL(serviceUrl).origin]
  const missing = (name: string) => Layer.fail(ModelConfigError.missing(name, why))
  switch (backend) {
    case "gemini-vertex":
      return Option.match(c.project, {
        onNone: () => missing("GOOGLE_CLOUD_PROJECT"),
        onSome: (project) =>
          GeminiVertex.layer({ project, location: c.location, baseUrl: serviceUrl, urlSetting, origins, timeout })
      })
    case "vertex-openai":
      return Option.match(c.project, {
        onNone: () => missing("GOOGLE_CLOUD_PROJECT"),
        onSome: (project) =>
          VertexOpenAI.layer({
            project,
            location: c.location,
            endpoint: Option.getOrUndefined(c.vertexEndpoint ?? Option.none()),
            baseUrl: serviceUrl,
            urlSetting,
            origins,
            timeout
          })
      })
    case "gemini-api":
      return GeminiApi.layer({
        quotaProject: Option.getOrUndefined(c.quotaProject),
        baseUrl: serviceUrl,
        urlSetting,
        origins,
        timeout
      })
    case "ollama":
    case "openai-compatible":
      if (serviceUrl === undefined) return missing(`${variable(backend, "URL")} or EFFECT_ADC_MODEL_URL`)
      return backend === "ollama"
        ? Ollama.layer({ url: serviceUrl, audience, header: c.header, timeout })
        : OpenAICompatible.layer({
          url: serviceUrl,
          audience,
          header: c.header,
          apiKey: Option.getOrUndefined(c.apiKey),
          timeout
        })
  }
}

/**
 * The layer for a configuration: one backend, or a Router when routes are set.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFrom = (c: ModelConfig): Built => {
  const routes = c.routes ?? Option.none()
  if (Option.isNone(routes)) {
    return backendLayer(c, c.backend, `required when EFFECT_ADC_MODEL_BACKEND=${c.backend}`)
  }
  // one layer per backend, shared by every route naming it
  const layers = new Map<BackendName, Built>()
  const layerOf = (backend: BackendName, why: string): Built => {
    const existing = layers.get(backend)
    if (existing !== undefined) return existing
    const built = backendLayer(c, backend, why)
    layers.set(backend, built)
    return built
  }
  const fallback = Option.getOrUndefined(c.fallback ?? Option.none())
  return Router.layer({
    routes: routes.value.map((route) => ({
      match: route.match,
      layer: layerOf(
        route.backend,
        `required because EFFECT_ADC_MODEL_ROUTES routes ${route.match} to ${route.backend}`
      )
    })),
    fallback: fallback === undefined ? undefined : {
      layer: layerOf(fallback, `required because EFFECT_ADC_MODEL_FALLBACK=${fallback}`),
      model: Option.getOrUndefined(c.fallbackModel ?? Option.none())
    }
  })
}

/**
 * ModelService from the environment (see the table above).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: Built = Layer.unwrapEffect(
  Effect.map(Effect.mapError(config, ModelConfigError.fromConfigError), layerFrom)
)
