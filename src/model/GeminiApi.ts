/**
 * Gemini through the Generative Language API (`generativelanguage.googleapis.com`)
 * with an OAuth access token and `x-goog-user-project` for the quota project: no API
 * key anywhere in the code path.
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
  /** Billed and quota-checked project (`x-goog-user-project`). */
  readonly quotaProject?: string | undefined
  /** Default `v1beta`. */
  readonly apiVersion?: string | undefined
  /** Default `https://generativelanguage.googleapis.com`; a Cloud Run Gemma URL works too (with `target`). */
  readonly baseUrl?: string | undefined
  /** Default: an access token (cloud-platform scope) with the quota project. */
  readonly target?: TokenTarget | undefined
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.gen(function*() {
    yield* warnAboutApiKeys
    const client = yield* Client.make({
      backend: "gemini-api",
      target: options.target ?? { kind: "access", quotaProject: options.quotaProject },
      origins: options.origins,
      headers: options.headers,
      timeout: options.timeout ?? "2 minutes",
      retry: options.retry ?? RetryPolicy.defaultPolicy
    })
    const base = `${trimSlash(options.baseUrl ?? "https://generativelanguage.googleapis.com")}/${options.apiVersion ?? "v1beta"}`
    return ModelService.of(gemini(client, (model, method) => `${base}/models/${encodeURIComponent(model)}:${method}`))
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(ModelService, make(options))
