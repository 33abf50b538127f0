/**
 * A Promise facade over EmbeddingService for plain TypeScript: one `ManagedRuntime`
 * per instance, built from the same layers (the package's one Promise bridge).
 * Promises reject with the `ModelError` itself; every call takes an `AbortSignal` (it
 * interrupts the call and closes its connections; the call rejects with
 * `CallAborted`); `dispose()` interrupts the calls in flight (they reject with
 * `ClientClosed`) and closes everything.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as PromiseBridge from "../../internal/promiseBridge.js"
import type { CallOptions } from "../ModelClient.js"
import type * as EmbeddingRequest from "./EmbeddingRequest.js"
import type * as EmbeddingResponse from "./EmbeddingResponse.js"
import { EmbeddingService } from "./EmbeddingService.js"

/**
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingClient {
  readonly embed: (
    request: EmbeddingRequest.EmbeddingRequest,
    options?: CallOptions
  ) => Promise<EmbeddingResponse.EmbeddingResponse>
  /** Interrupts the calls in flight (they reject with `ClientClosed`), stops the token cache's fibers, closes connections. */
  readonly dispose: () => Promise<void>
}

/**
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import { Layer } from "effect"
 * import { AuthService } from "effect-adc/auth"
 * import { EmbeddingClient, GeminiVertexEmbeddings } from "effect-adc/embedding"
 *
 * const client = EmbeddingClient.make(
 *   GeminiVertexEmbeddings.layer({ project: "my-project", location: "us-central1" }).pipe(
 *     Layer.provide(Layer.mergeAll(AuthService.layer(), FetchHttpClient.layer))
 *   )
 * )
 * const { embeddings } = await client.embed({ model: "text-embedding-005", inputs: ["hello", "world"] })
 * await client.dispose()
 * ```
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make = <E>(layer: Layer.Layer<EmbeddingService, E, never>): EmbeddingClient => {
  const bridge = PromiseBridge.make(layer)
  return {
    embed: (request, options) =>
      bridge.run(
        "EmbeddingClient.embed",
        Effect.flatMap(EmbeddingService, (service) => service.embed(request)),
        options
      ),
    dispose: () => bridge.dispose()
  }
}
