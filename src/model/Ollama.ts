/**
 * Ollama (Gemma on Cloud Run): `/api/chat` with NDJSON streaming, tools and `format`,
 * signed with a Google ID token for the service.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AuthService } from "../auth/AuthService.js"
import { ollama } from "./internal/backends.js"
import * as Client from "./internal/client.js"
import { type CommonOptions, trimSlash } from "./internal/options.js"
import { ModelService } from "./ModelService.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends CommonOptions {
  /** The service URL (`https://gemma-abc-uc.a.run.app`). */
  readonly url: string
  /** ID token audience; default: the URL's origin. */
  readonly audience?: string | undefined
  /** Where the ID token goes; default `Authorization`. */
  readonly header?: "Authorization" | "X-Serverless-Authorization" | undefined
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    Client.make({
      backend: "ollama",
      target: { kind: "id", audience: options.audience ?? new URL(options.url).origin, header: options.header },
      origins: options.origins,
      headers: options.headers,
      // a GPU cold start takes tens of seconds
      timeout: options.timeout ?? "5 minutes",
      retry: options.retry ?? RetryPolicy.defaultPolicy
    }),
    (client) => ModelService.of(ollama(client, trimSlash(options.url)))
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(ModelService, make(options))
