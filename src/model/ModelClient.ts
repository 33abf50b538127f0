/**
 * A Promise facade over ModelService for plain TypeScript: one `ManagedRuntime` per
 * instance, built from the same layers. Promises reject with the `ModelError` itself
 * (they are `Error`s), streams are async iterables, `dispose()` closes everything.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as ModelRequest from "./ModelRequest.js"
import type * as ModelResponse from "./ModelResponse.js"
import { ModelService } from "./ModelService.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface ModelClient {
  readonly generate: <A = unknown>(request: ModelRequest.ModelRequest<A>) => Promise<ModelResponse.ModelResponse<A>>
  readonly stream: (request: ModelRequest.ModelRequest<any>) => AsyncIterable<ModelResponse.ModelStreamChunk>
  readonly countTokens: (request: ModelRequest.ModelRequest<any>) => Promise<number>
  /** Stops the token cache's fibers and closes connections. */
  readonly dispose: () => Promise<void>
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E>(layer: Layer.Layer<ModelService, E, never>): ModelClient => {
  const runtime = ManagedRuntime.make(layer)
  const run = <A, F>(effect: Effect.Effect<A, F, ModelService>): Promise<A> =>
    runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      // reject with the typed error itself, not a wrapper
      throw Option.getOrElse(Cause.failureOption(exit.cause), () => Cause.squash(exit.cause))
    })
  return {
    generate: (request) => run(Effect.flatMap(ModelService, (model) => model.generate(request))),
    countTokens: (request) => run(Effect.flatMap(ModelService, (model) => model.countTokens(request))),
    stream: (request) => ({
      [Symbol.asyncIterator]: () => {
        const pull = run(
          Effect.map(
            ModelService,
            (model) => Stream.toAsyncIterable(model.stream(request))
          )
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
    dispose: () => runtime.dispose()
  }
}
