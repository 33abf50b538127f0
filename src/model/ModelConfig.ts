/**
 * The whole model stack from environment variables, so that swapping a backend is a
 * configuration change:
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `EFFECT_ADC_MODEL_BACKEND` | `gemini-vertex`, `gemini-api`, `ollama` or `openai-compatible` | `gemini-vertex` |
 * | `GOOGLE_CLOUD_PROJECT` | Vertex project | required for `gemini-vertex` |
 * | `GOOGLE_CLOUD_LOCATION` | Vertex location (`global` or a region) | `global` |
 * | `EFFECT_ADC_QUOTA_PROJECT` | Gemini API quota project (`x-goog-user-project`) | none |
 * | `EFFECT_ADC_MODEL_URL` | Cloud Run service URL (Ollama, vLLM), or a Gemini base URL override | required for `ollama`, `openai-compatible` |
 * | `EFFECT_ADC_MODEL_AUDIENCE` | ID token audience | the URL's origin |
 * | `EFFECT_ADC_MODEL_TOKEN_HEADER` | `Authorization` or `X-Serverless-Authorization` | `Authorization` |
 * | `EFFECT_ADC_MODEL_API_KEY` | vLLM `--api-key` (sent as `Authorization`; the ID token then goes in `X-Serverless-Authorization`) | none |
 * | `EFFECT_ADC_MODEL_TIMEOUT` | per-attempt timeout (`30 seconds`) | 2 min (Gemini), 5 min (Cloud Run) |
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { AuthService } from "../auth/AuthService.js"
import * as GeminiApi from "./GeminiApi.js"
import * as GeminiVertex from "./GeminiVertex.js"
import type { ModelService } from "./ModelService.js"
import * as Ollama from "./Ollama.js"
import * as OpenAICompatible from "./OpenAICompatible.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type BackendName = "gemini-vertex" | "gemini-api" | "ollama" | "openai-compatible"

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
  readonly quotaProject: Option.Option<string>
  readonly url: Option.Option<string>
  readonly audience: Option.Option<string>
  readonly header: "Authorization" | "X-Serverless-Authorization" | undefined
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly timeout: Option.Option<Duration.Duration>
}

const url = (name: string) =>
  Config.string(name).pipe(
    Config.mapAttempt((value) => {
      const parsed = new URL(value)
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("not an http(s) URL")
      return value.replace(/\/+$/, "")
    })
  )

/**
 * @since 0.1.0
 * @category Config
 */
export const config: Config.Config<ModelConfig> = Config.all({
  backend: Config.literal("gemini-vertex", "gemini-api", "ollama", "openai-compatible")("EFFECT_ADC_MODEL_BACKEND").pipe(
    Config.withDefault("gemini-vertex" as const)
  ),
  project: Config.option(Config.string("GOOGLE_CLOUD_PROJECT")),
  location: Config.string("GOOGLE_CLOUD_LOCATION").pipe(Config.withDefault("global")),
  quotaProject: Config.option(Config.string("EFFECT_ADC_QUOTA_PROJECT")),
  url: Config.option(url("EFFECT_ADC_MODEL_URL")),
  audience: Config.option(Config.string("EFFECT_ADC_MODEL_AUDIENCE")),
  header: Config.option(Config.literal("Authorization", "X-Serverless-Authorization")("EFFECT_ADC_MODEL_TOKEN_HEADER")).pipe(
    Config.map(Option.getOrUndefined)
  ),
  apiKey: Config.option(Config.redacted("EFFECT_ADC_MODEL_API_KEY")),
  timeout: Config.option(Config.duration("EFFECT_ADC_MODEL_TIMEOUT"))
})

const missing = (variable: string, backend: string) =>
  Layer.fail(
    ConfigError.MissingData([variable], `${variable} must be set when EFFECT_ADC_MODEL_BACKEND=${backend}`)
  )

/**
 * The backend's layer for a configuration.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFrom = (
  c: ModelConfig
): Layer.Layer<ModelService, ConfigError.ConfigError, HttpClient.HttpClient | AuthService> => {
  const timeout = Option.getOrUndefined(c.timeout)
  const origins = Option.match(c.url, { onNone: () => undefined, onSome: (u) => [new URL(u).origin] })
  switch (c.backend) {
    case "gemini-vertex":
      return Option.match(c.project, {
        onNone: () => missing("GOOGLE_CLOUD_PROJECT", c.backend),
        onSome: (project) =>
          GeminiVertex.layer({
            project,
            location: c.location,
            baseUrl: Option.getOrUndefined(c.url),
            origins,
            timeout
          })
      })
    case "gemini-api":
      return GeminiApi.layer({
        quotaProject: Option.getOrUndefined(c.quotaProject),
        baseUrl: Option.getOrUndefined(c.url),
        origins,
        timeout
      })
    case "ollama":
    case "openai-compatible":
      return Option.match(c.url, {
        onNone: () => missing("EFFECT_ADC_MODEL_URL", c.backend),
        onSome: (u) =>
          c.backend === "ollama"
            ? Ollama.layer({ url: u, audience: Option.getOrUndefined(c.audience), header: c.header, timeout })
            : OpenAICompatible.layer({
              url: u,
              audience: Option.getOrUndefined(c.audience),
              header: c.header,
              apiKey: Option.getOrUndefined(c.apiKey),
              timeout
            })
      })
  }
}

/**
 * ModelService from the environment (see the table above).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: Layer.Layer<
  ModelService,
  ConfigError.ConfigError,
  HttpClient.HttpClient | AuthService
> = Layer.unwrapEffect(Effect.map(config, layerFrom))
