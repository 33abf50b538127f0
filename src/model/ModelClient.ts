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
import { CallAborted, ClientClosed } from "../ClientError.js"
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
  readonly stream: <A = unknown>(
    request: ModelRequest.ModelRequest<A>,
    options?: CallOptions
  ) => AsyncIterable<ModelResponse.ModelStreamChunk>
  readonly countTokens: <A = unknown>(request: ModelRequest.ModelRequest<A>, options?: CallOptions) => Promise<number>
  /** Interrupts the calls in flight (they reject with `ClientClosed`), stops the token cache's fibers, closes connections. */
  readonly dispose: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E>(layer: Layer.Layer<ModelService, E, never>): ModelClient => {
  const bridge = PromiseBridge.make(layer)
  const open = new Set<() => void>()
  const closers = new Map<() => void, () => void>()
  return {
    generate: (request, options) =>
      bridge.run("ModelClient.generate", Effect.flatMap(ModelService, (model) => model.generate(request)), options),
    countTokens: (request, options) =>
      bridge.run(
        "ModelClient.countTokens",
        Effect.flatMap(ModelService, (model) => model.countTokens(request)),
        options
      ),
    stream: (request, options) => ({
      [Symbol.asyncIterator]: () => {
        const signal = options?.signal
        const pull = bridge.run(
          "ModelClient.stream",
          Effect.map(ModelService, (model) => Stream.toAsyncIterable(model.stream(request))),
          options
        )
        let iterator: AsyncIterator<ModelResponse.ModelStreamChunk> | undefined
        const get = async () => (iterator ??= (await pull)[Symbol.asyncIterator]())
        const close = () => {
          open.delete(close)
          closers.delete(close)
          if (iterator?.return !== undefined) void iterator.return()
        }
        open.add(close)
        // an abort (or dispose) settles a pending `next()` at once and closes the stream
        const stopped = new Promise<never>((_, reject) => {
          const stop = (error: CallAborted | ClientClosed) => {
            close()
            reject(error)
          }
          if (signal?.aborted === true) stop(new CallAborted({ operation: "ModelClient.stream" }))
          signal?.addEventListener("abort", () => stop(new CallAborted({ operation: "ModelClient.stream" })), {
            once: true
          })
          closers.set(close, () => stop(new ClientClosed({ operation: "ModelClient.stream" })))
        })
        stopped.catch(() => {})
        return {
          next: async () => {
            const result = await Promise.race([get().then((it) => it.next()), stopped])
            if (result.done === true) close()
            return result
          },
          return: async (value?: unknown) => {
            close()
            return { done: true, value }
          }
        }
      }
    }),
    dispose: () => {
      for (const close of [...open]) closers.get(close)?.()
      return bridge.dispose()
    }
  }
}
