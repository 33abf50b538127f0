/**
 * EmbeddingService from environment variables, so that swapping the embedding backend
 * is a configuration change. Its own variables (`EFFECT_ADC_EMBED_*`) say which backend
 * and where; the rest is shared with `ModelConfig`:
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `EFFECT_ADC_EMBED_BACKEND` | `gemini-vertex`, `gemini-api`, `ollama` or `openai-compatible` (`vertex-openai` embeds through Vertex AI's own API, as `gemini-vertex`) | `EFFECT_ADC_MODEL_BACKEND`, else `gemini-vertex` |
 * | `EFFECT_ADC_EMBED_URL` | the embedding service's URL (Ollama, vLLM) or a Gemini base URL override | `EFFECT_ADC_MODEL_URL` when the embedding backend is the model backend |
 * | `EFFECT_ADC_EMBED_AUDIENCE` | ID token audience | `EFFECT_ADC_MODEL_AUDIENCE` (same rule), else the URL's origin |
 * | `EFFECT_ADC_EMBED_BATCH_SIZE` | texts per API call (lowered to the API's limit on Google backends) | the backend's: 100 Gemini API, 250 / 1 Vertex, 512 Ollama, 2048 OpenAI-compatible |
 * | `EFFECT_ADC_EMBED_CONCURRENCY` | API calls of one batch in flight at once | 1 |
 * | `GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION` | Vertex project and location | required / `global` |
 * | `EFFECT_ADC_QUOTA_PROJECT` | Gemini API quota project | none |
 * | `EFFECT_ADC_MODEL_TOKEN_HEADER`, `EFFECT_ADC_MODEL_API_KEY`, `EFFECT_ADC_MODEL_TIMEOUT` | as for `ModelConfig` | as for `ModelConfig` |
 *
 * A missing or invalid variable fails the layer with `ModelConfigError`, naming the
 * variable and what to set.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AuthService } from "../../auth/AuthService.js"
import { BackendName } from "../ModelConfig.js"
import * as ModelConfigError from "../ModelConfigError.js"
import type { EmbeddingService } from "./EmbeddingService.js"
import * as GeminiApiEmbeddings from "./GeminiApiEmbeddings.js"
import * as GeminiVertexEmbeddings from "./GeminiVertexEmbeddings.js"
import * as OllamaEmbeddings from "./OllamaEmbeddings.js"
import * as OpenAICompatibleEmbeddings from "./OpenAICompatibleEmbeddings.js"

/**
 * The backends that serve embeddings: every generation backend but `vertex-openai`
 * (Vertex AI's OpenAI-compatible chat endpoint), whose project embeds through Vertex
 * AI's own API, as `gemini-vertex`.
 *
 * @since 0.3.0
 * @category Models
 */
export const EmbeddingBackendName = Schema.Literal("gemini-vertex", "gemini-api", "ollama", "openai-compatible")

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbeddingBackendName = typeof EmbeddingBackendName.Type

/**
 * What the environment says.
 *
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingConfig {
  readonly backend: EmbeddingBackendName
  /** Which variable chose the backend (named by errors). */
  readonly backendSetting: "EFFECT_ADC_EMBED_BACKEND" | "EFFECT_ADC_MODEL_BACKEND" | "default"
  readonly project: Option.Option<string>
  readonly location: string
  readonly quotaProject: Option.Option<string>
  readonly url: Option.Option<string>
  /** Which variable `url` came from. */
  readonly urlSetting: "EFFECT_ADC_EMBED_URL" | "EFFECT_ADC_MODEL_URL"
  readonly audience: Option.Option<string>
  readonly header: "Authorization" | "X-Serverless-Authorization" | undefined
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly timeout: Option.Option<Duration.Duration>
  readonly maxBatchSize: Option.Option<number>
  readonly concurrency: Option.Option<number>
}

/** Vertex AI's OpenAI-compatible chat endpoint: its project embeds through Vertex AI's own API. */
const embeddingBackend = (backend: BackendName): EmbeddingBackendName =>
  backend === "vertex-openai" ? "gemini-vertex" : backend

const url = (name: string) =>
  Config.string(name).pipe(
    Config.mapAttempt((value) => {
      const parsed = new URL(value)
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("not an http(s) URL")
      return value.replace(/\/+$/, "")
    })
  )

const positive = (name: string) =>
  Config.integer(name).pipe(Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }))

/**
 * @since 0.3.0
 * @category Config
 */
export const config: Config.Config<EmbeddingConfig> = Config.all({
  embedBackend: Config.option(Schema.Config("EFFECT_ADC_EMBED_BACKEND", BackendName)),
  modelBackend: Config.option(Schema.Config("EFFECT_ADC_MODEL_BACKEND", BackendName)),
  project: Config.option(Config.string("GOOGLE_CLOUD_PROJECT")),
  location: Config.string("GOOGLE_CLOUD_LOCATION").pipe(Config.withDefault("global")),
  quotaProject: Config.option(Config.string("EFFECT_ADC_QUOTA_PROJECT")),
  embedUrl: Config.option(url("EFFECT_ADC_EMBED_URL")),
  modelUrl: Config.option(url("EFFECT_ADC_MODEL_URL")),
  embedAudience: Config.option(Config.string("EFFECT_ADC_EMBED_AUDIENCE")),
  modelAudience: Config.option(Config.string("EFFECT_ADC_MODEL_AUDIENCE")),
  header: Config.option(
    Schema.Config("EFFECT_ADC_MODEL_TOKEN_HEADER", Schema.Literal("Authorization", "X-Serverless-Authorization"))
  ).pipe(Config.map(Option.getOrUndefined)),
  apiKey: Config.option(Config.redacted("EFFECT_ADC_MODEL_API_KEY")),
  timeout: Config.option(Config.duration("EFFECT_ADC_MODEL_TIMEOUT")),
  maxBatchSize: Config.option(positive("EFFECT_ADC_EMBED_BATCH_SIZE")),
  concurrency: Config.option(positive("EFFECT_ADC_EMBED_CONCURRENCY"))
}).pipe(Config.map((c): EmbeddingConfig => {
  const modelBackend = Option.getOrElse(Option.map(c.modelBackend, embeddingBackend), () => "gemini-vertex" as const)
  const backend = Option.getOrElse(Option.map(c.embedBackend, embeddingBackend), () => modelBackend)
  // the model's URL and audience name the model's service: only for the same backend
  const shared = backend === modelBackend
  return {
    backend,
    backendSetting: Option.isSome(c.embedBackend)
      ? "EFFECT_ADC_EMBED_BACKEND"
      : Option.isSome(c.modelBackend)
      ? "EFFECT_ADC_MODEL_BACKEND"
      : "default",
    project: c.project,
    location: c.location,
    quotaProject: c.quotaProject,
    url: Option.orElse(c.embedUrl, () => shared ? c.modelUrl : Option.none()),
    urlSetting: Option.isSome(c.embedUrl) || !shared ? "EFFECT_ADC_EMBED_URL" : "EFFECT_ADC_MODEL_URL",
    audience: Option.orElse(c.embedAudience, () => shared ? c.modelAudience : Option.none()),
    header: c.header,
    apiKey: c.apiKey,
    timeout: c.timeout,
    maxBatchSize: c.maxBatchSize,
    concurrency: c.concurrency
  }
}))

type Built = Layer.Layer<EmbeddingService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService>

/**
 * The layer for a configuration.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerFrom = (c: EmbeddingConfig): Built => {
  const why = c.backendSetting === "default"
    ? `required for embeddings on ${c.backend} (the default backend)`
    : `required for embeddings on ${c.backend} (chosen by ${c.backendSetting})`
  const serviceUrl = Option.getOrUndefined(c.url)
  const common = {
    timeout: Option.getOrUndefined(c.timeout),
    maxBatchSize: Option.getOrUndefined(c.maxBatchSize),
    concurrency: Option.getOrUndefined(c.concurrency)
  }
  const origins = serviceUrl === undefined ? undefined : [new URL(serviceUrl).origin]
  switch (c.backend) {
    case "gemini-vertex":
      return Option.match(c.project, {
        onNone: () => Layer.fail(ModelConfigError.missing("GOOGLE_CLOUD_PROJECT", why)),
        onSome: (project) =>
          GeminiVertexEmbeddings.layer({
            project,
            location: c.location,
            baseUrl: serviceUrl,
            urlSetting: c.urlSetting,
            origins,
            ...common
          })
      })
    case "gemini-api":
      return GeminiApiEmbeddings.layer({
        quotaProject: Option.getOrUndefined(c.quotaProject),
        baseUrl: serviceUrl,
        urlSetting: c.urlSetting,
        origins,
        ...common
      })
    case "ollama":
    case "openai-compatible": {
      if (serviceUrl === undefined) {
        return Layer.fail(
          ModelConfigError.missing(
            c.backendSetting === "EFFECT_ADC_EMBED_BACKEND"
              ? "EFFECT_ADC_EMBED_URL"
              : "EFFECT_ADC_EMBED_URL or EFFECT_ADC_MODEL_URL",
            why
          )
        )
      }
      const service = { url: serviceUrl, audience: Option.getOrUndefined(c.audience), header: c.header, ...common }
      return c.backend === "ollama"
        ? OllamaEmbeddings.layer(service)
        : OpenAICompatibleEmbeddings.layer({ ...service, apiKey: Option.getOrUndefined(c.apiKey) })
    }
  }
}

/**
 * EmbeddingService from the environment (see the table above).
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import { Layer } from "effect"
 * import { AuthService } from "effect-adc/auth"
 * import { EmbeddingConfig } from "effect-adc/embedding"
 *
 * const Embeddings = EmbeddingConfig.layerConfig.pipe(
 *   Layer.provide(Layer.mergeAll(AuthService.layer(), FetchHttpClient.layer))
 * )
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerConfig: Built = Layer.unwrapEffect(
  Effect.map(Effect.mapError(config, ModelConfigError.fromConfigError), layerFrom)
)
