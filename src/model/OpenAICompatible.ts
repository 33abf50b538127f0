/**
 * An OpenAI-compatible server (vLLM on Cloud Run): `/v1/chat/completions` with SSE
 * streaming, tool calls and `response_format` json_schema, signed with a Google ID
 * token — optionally in `X-Serverless-Authorization`, so that `Authorization` can
 * carry the server's own API key.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { AuthService } from "../auth/AuthService.js"
import { openai } from "./internal/backends.js"
import * as Client from "./internal/client.js"
import { type CommonOptions, trimSlash } from "./internal/options.js"
import { ModelService } from "./ModelService.js"
import * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends CommonOptions {
  /** The service URL, without `/v1`. */
  readonly url: string
  /** ID token audience; default: the URL's origin. */
  readonly audience?: string | undefined
  /** Where the ID token goes; default `Authorization`, or `X-Serverless-Authorization` when `apiKey` is set. */
  readonly header?: "Authorization" | "X-Serverless-Authorization" | undefined
  /** `vllm serve --api-key`: sent as `Authorization: Bearer`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    Client.make({
      backend: "openai-compatible",
      target: {
        kind: "id",
        audience: options.audience ?? new URL(options.url).origin,
        header: options.header ?? (options.apiKey === undefined ? "Authorization" : "X-Serverless-Authorization")
      },
      origins: options.origins,
      headers: {
        ...options.headers,
        ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(options.apiKey)}` })
      },
      timeout: options.timeout ?? "5 minutes",
      retry: options.retry ?? RetryPolicy.defaultPolicy
    }),
    (client) => ModelService.of(openai(client, trimSlash(options.url)))
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(ModelService, make(options))
