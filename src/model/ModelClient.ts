/**
 * A Promise facade over ModelService for plain TypeScript: one `ManagedRuntime` per
 * instance, built from the same layers (the one Promise bridge of the package).
 * Promises reject with the `ModelError` itself (they are `Error`s); every call takes
 * an `AbortSignal` (an abort interrupts the call and closes its connection; it rejects
 * with `CallAborted`); streams are async iterables; `dispose()` interrupts the calls
 * in flight (they reject with `ClientClosed`) and closes everything.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as PromiseBridge from "../internal/promiseBridge.js"
import type * as ModelRequest from "./ModelRequest.js"
import type * as ModelResponse from "./ModelResponse.js"
import { ModelService } from "./ModelService.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface CallOptions {
  /** Aborting it interrupts the call (the connection closes); the call rejects with `CallAborted`. */
  readonly signal?: AbortSignal | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ModelClient {
  readonly generate: <A = unknown>(
    request: ModelRequest.ModelRequest<A>,
    options?: CallOptions
  ) => Promise<ModelResponse.ModelResponse<A>>
  readonly stream: (
    request: ModelRequest.ModelRequest<any>,
    options?: CallOptions
  ) => AsyncIterable<ModelResponse.ModelStreamChunk>
  readonly countTokens: (request: ModelRequest.ModelRequest<any>, options?: CallOptions) => Promise<number>
  /** Interrupts the calls in flight (they reject with `ClientClosed`), stops the token cache's fibers, closes connections. */
  readonly dispose: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E>(layer: Layer.Layer<ModelService, E, never>): ModelClient => {
  const bridge = PromiseBridge.make(layer)
  return {
    generate: (request, options) =>
      bridge.run("ModelClient.generate", Effect.flatMap(ModelService, (model) => model.generate(request)), options),
    countTokens: (request, options) =>
      bridge.run("ModelClient.countTokens", Effect.flatMap(ModelService, (model) => model.countTokens(request)), options),
    stream: (request, options) => ({
      [Symbol.asyncIterator]: () => {
        // each `next` is one bridged call over a pull kept in a scope the iterator owns
        const pull = bridge.run(
          "ModelClient.stream",
          Effect.map(ModelService, (model) => Stream.toAsyncIterable(model.stream(request))),
          options
        )
        let iterator: AsyncIterator<ModelResponse.ModelStreamChunk> | undefined
        const get = async () => (iterator ??= (await pull)[Symbol.asyncIterator]())
        return {
          next: async () => (await get()).next(),
          return: async (value?: unknown) => {
            const it = await get()
            return it.return === undefined ? { done: true, value } : it.return(value)
          }
        }
      }
    }),
    dispose: () => bridge.dispose()
  }
}
