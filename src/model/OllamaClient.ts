/**
 * The low-level Ollama wire client: `/api/chat` (one JSON answer, or NDJSON lines)
 * on a Cloud Run service, signed with a Google ID token for the service, with the
 * per-attempt timeout, the retry policy around opening a response and every failure
 * translated into ModelError once. `Ollama.layerModel` turns it into ModelService.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Ndjson from "@effect/platform/Ndjson"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { AuthService } from "../auth/AuthService.js"
import * as Client from "./internal/client.js"
import { type CommonOptions, fromConfig, trimSlash } from "./internal/options.js"
import type * as ModelConfigError from "./ModelConfigError.js"
import * as ModelError from "./ModelError.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Tags
 */
export class OllamaClient extends Context.Tag("effect-adc/OllamaClient")<OllamaClient, OllamaClient.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace OllamaClient {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** POST `/api/chat` with `stream: false`; the response's JSON body. */
    readonly chat: (body: unknown, options?: Client.CallOptions) => Effect.Effect<unknown, ModelError.ModelError>
    /** POST `/api/chat` with `stream: true`; each NDJSON line. */
    readonly chatStream: (body: unknown, options?: Client.CallOptions) => Stream.Stream<unknown, ModelError.ModelError>
  }
}

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
export const make = (options: Options): Effect.Effect<OllamaClient.Service, never, HttpClient.HttpClient | AuthService> =>
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
    (client) => {
      const url = `${trimSlash(options.url)}/api/chat`
      return OllamaClient.of({
        chat: (body, call = {}) => client.postJson(url, body, call),
        chatStream: (body, call = {}) =>
          Stream.unwrap(Effect.map(client.post(url, body, call), (response) =>
            Client.bodyStream("ollama", response).pipe(
              Stream.pipeThroughChannelOrFail(Ndjson.unpack({ ignoreEmptyLines: true })),
              Stream.mapError((error) =>
                ModelError.isModelError(error) ? error : new ModelError.Decode({
                  backend: "ollama",
                  detail: `a line of the NDJSON stream is not JSON: ${error.reason}`,
                  cause: error
                })
              )
            )))
      })
    }
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<OllamaClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(OllamaClient, make(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OllamaClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
