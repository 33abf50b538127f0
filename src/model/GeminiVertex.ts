/**
 * Gemini on Vertex AI: `{location}-aiplatform.googleapis.com`, or the `global`
 * endpoint `aiplatform.googleapis.com`, publisher models, with an access token.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AuthService } from "../auth/AuthService.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import { gemini } from "./internal/backends.js"
import * as Client from "./internal/client.js"
import { type CommonOptions, trimSlash, warnAboutApiKeys } from "./internal/options.js"
import { ModelService } from "./ModelService.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends CommonOptions {
  readonly project: string
  /** A region (`us-central1`) or `global`. */
  readonly location: string
  /** Default `v1`. */
  readonly apiVersion?: string | undefined
  /** Default: the regional or global aiplatform host. */
  readonly baseUrl?: string | undefined
  /** Default: an access token (cloud-platform scope). */
  readonly target?: TokenTarget | undefined
}

/**
 * The endpoint for a location: `global` → `https://aiplatform.googleapis.com`, else
 * `https://{location}-aiplatform.googleapis.com`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const endpoint = (location: string): string =>
  location === "global" ? "https://aiplatform.googleapis.com" : `https://${location}-aiplatform.googleapis.com`

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.gen(function*() {
    yield* warnAboutApiKeys
    const client = yield* Client.make({
      backend: "gemini-vertex",
      target: options.target ?? { kind: "access" },
      origins: options.origins,
      headers: options.headers,
      timeout: options.timeout ?? "2 minutes",
      retry: options.retry ?? RetryPolicy.defaultPolicy
    })
    const base = `${trimSlash(options.baseUrl ?? endpoint(options.location))}/${options.apiVersion ?? "v1"}` +
      `/projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}` +
      `/publishers/google/models`
    return ModelService.of(gemini(client, (model, method) => `${base}/${encodeURIComponent(model)}:${method}`))
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(ModelService, make(options))
