/**
 * Vertex AI's OpenAI-compatible Chat Completions, keyless: the shared endpoint
 * `…/v1beta1/projects/{p}/locations/{l}/endpoints/openapi/chat/completions` (Gemini and
 * Model-as-a-Service models named `google/gemini-2.5-flash`, `meta/…`), a Model Garden or
 * custom endpoint `…/endpoints/{id}/chat/completions` on the regional host or on its
 * dedicated host `https://{id}.{region}-{n}.prediction.vertexai.goog`, and a Private
 * Service Connect address. It is the OpenAI-compatible backend with an access token
 * instead of an ID token: refreshed in the background, replayed once after a 401, sent
 * only to Google's hosts (`*.googleapis.com`, `*.*.prediction.vertexai.goog`) unless
 * `origins` names another one.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import type { AccessTarget } from "../../auth/TokenTarget.js"
import * as AuthHttpClient from "../../http/AuthHttpClient.js"
import { backendLayers } from "../internal/layers.js"
import { requireHttps, trimSlash } from "../internal/options.js"
import { vertexEndpoint } from "../internal/vertex.js"
import * as ModelConfigError from "../ModelConfigError.js"
import type { BackendOptions, ModelService } from "../ModelService.js"
import { openai, openaiTelemetry } from "./internal/model.js"
import * as OpenAICompatibleClient from "./OpenAICompatibleClient.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends BackendOptions {
  readonly project: string
  /** A region (`us-central1`), a multi-region (`us`, `eu`) or `global`. */
  readonly location: string
  /**
   * The Vertex AI endpoint: `openapi` (default: Google's and partners' models by
   * publisher name) or the ID of an endpoint a model is deployed to (Model Garden).
   */
  readonly endpoint?: string | undefined
  /**
   * Default: the location's host (`aiplatform.googleapis.com`,
   * `aiplatform.{us,eu}.rep.googleapis.com`, `{region}-aiplatform.googleapis.com`). A
   * dedicated endpoint: `https://` + its `dedicatedEndpointDns`. A Private Service
   * Connect address: list it in `origins` too, or the layer refuses to build.
   */
  readonly baseUrl?: string | undefined
  /** Default `v1beta1`. */
  readonly apiVersion?: string | undefined
  /** The name an error uses for `baseUrl` (ModelConfig passes its environment variable). */
  readonly urlSetting?: string | undefined
  /** Default: an access token with the cloud-platform scope. */
  readonly target?: AccessTarget | undefined
}

/**
 * The OpenAI-compatible client options for Vertex AI: the host, the endpoint's path as
 * `basePath`, the access token.
 *
 * @example
 * ```ts
 * import { VertexOpenAI } from "effect-adc/model"
 *
 * const options = VertexOpenAI.clientOptions({ project: "my-project", location: "us-central1", endpoint: "1234" })
 * // options.url: "https://us-central1-aiplatform.googleapis.com"
 * // options.basePath: "/v1beta1/projects/my-project/locations/us-central1/endpoints/1234"
 * ```
 *
 * @since 0.2.0
 * @category Utils
 */
export const clientOptions = (options: Options): OpenAICompatibleClient.Options => {
  const { apiVersion, baseUrl, endpoint, location, project, target, urlSetting: _, ...common } = options
  return {
    ...common,
    url: trimSlash(baseUrl ?? vertexEndpoint(location)),
    basePath: `/${apiVersion ?? "v1beta1"}/projects/${encodeURIComponent(project)}` +
      `/locations/${encodeURIComponent(location)}/endpoints/${encodeURIComponent(endpoint ?? "openapi")}`,
    target: target ?? { kind: "access" },
    // telemetry's gen_ai.provider.name: the OpenAI-compatible API of Vertex AI
    provider: "gcp.vertex_ai"
  }
}

/**
 * The client, after two checks on the URL: https (plain http only to loopback), and a
 * host the access token may reach (a Google host, or one listed in `origins`): a
 * Private Service Connect address that is not listed fails here with
 * ModelConfigError naming the setting, instead of every call going out unsigned.
 */
const makeClient = (
  options: Options
): Effect.Effect<
  OpenAICompatibleClient.OpenAICompatibleClient.Service,
  ModelConfigError.ModelConfigError,
  HttpClient.HttpClient | AuthService
> =>
  Effect.gen(function*() {
    const client = clientOptions(options)
    const setting = options.urlSetting ?? "baseUrl"
    yield* requireHttps(client.url, setting)
    const target = client.target ?? { kind: "access" }
    if (!AuthHttpClient.mayReceive(target, client.url, { origins: options.origins })) {
      return yield* new ModelConfigError.ModelConfigError({
        variable: setting,
        reason: "Invalid",
        detail: `${new URL(client.url).origin} would not receive the access token: it is not a Google host ` +
          `(*.googleapis.com, {id}.{region}-{n}.prediction.vertexai.goog); a Private Service Connect address ` +
          `must also be listed in origins`
      })
    }
    return yield* OpenAICompatibleClient.make(client)
  })

const layers = backendLayers(OpenAICompatibleClient.OpenAICompatibleClient, makeClient, openai, openaiTelemetry)

/**
 * ModelService with its OpenAICompatibleClient built for Vertex AI.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ModelService.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options
) => layers.make(options)

/**
 * ModelService and its OpenAICompatibleClient in one layer.
 *
 * @example
 * ```ts
 * import { VertexOpenAI } from "effect-adc/model"
 *
 * // Gemini through the OpenAI-compatible endpoint (model names carry the publisher)
 * const Shared = VertexOpenAI.layer({ project: "my-project", location: "global" })
 *
 * // a Model Garden model on its dedicated endpoint
 * const Dedicated = VertexOpenAI.layer({
 *   project: "my-project",
 *   location: "us-central1",
 *   endpoint: "1234567890",
 *   baseUrl: "https://1234567890.us-central1-987654321.prediction.vertexai.goog"
 * })
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer: (
  options: Options
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (options) =>
  layers.layer(options)

/**
 * ModelService over the OpenAICompatibleClient in context.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerModel: Layer.Layer<ModelService, never, OpenAICompatibleClient.OpenAICompatibleClient> =
  layers.layerModel

/**
 * `layer` with options read through `Config`; a missing or invalid value fails with
 * ModelConfigError naming it.
 *
 * @example
 * ```ts
 * import { Config, Option } from "effect"
 * import { VertexOpenAI } from "effect-adc/model"
 *
 * const Live = VertexOpenAI.layerConfig({
 *   project: Config.string("GOOGLE_CLOUD_PROJECT"),
 *   location: Config.withDefault(Config.string("GOOGLE_CLOUD_LOCATION"), "global"),
 *   endpoint: Config.option(Config.string("EFFECT_ADC_VERTEX_ENDPOINT")).pipe(Config.map(Option.getOrUndefined))
 * })
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<Options>
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =
  layers.layerConfig
