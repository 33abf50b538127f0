/**
 * A warm-up ping when a model layer starts: one tiny request (one output token) so that
 * a Cloud Run GPU service scaled to zero starts its instance (tens of seconds: image,
 * weights into GPU memory) before the first user call needs it. The ping runs in the
 * background by default (the layer is ready at once), or is awaited with `wait`; its
 * failure is logged at debug level and never fails the layer.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ModelRequest from "./ModelRequest.js"
import { ModelService } from "./ModelService.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** The model to wake (the one the backend serves). */
  readonly model: string
  /** Wait for the answer before the layer is ready; default `false` (in the background). */
  readonly wait?: boolean | undefined
  /** The longest wait for the ping's answer; default 5 minutes (a GPU cold start). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The ping: one request for one token, its outcome ignored (logged at debug level).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const ping = (service: ModelService.Service, options: Options): Effect.Effect<void> =>
  service.generate({
    model: options.model,
    contents: [ModelRequest.user("ping")],
    generation: { maxOutputTokens: 1 }
  }).pipe(
    Effect.timeout(options.timeout ?? "5 minutes"),
    Effect.asVoid,
    Effect.catchAll((error) => Effect.logDebug(`effect-adc warm-up of ${options.model} failed: ${error.message}`))
  )

/**
 * The layer with a warm-up ping sent as soon as it is built.
 *
 * @example
 * ```ts
 * import { Ollama, WarmUp } from "effect-adc/model"
 *
 * const Model = Ollama.layer({ url: "https://gemma-123.run.app" }).pipe(WarmUp.withWarmUp({ model: "gemma3:4b" }))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const withWarmUp = (options: Options) =>
<E, R>(
  layer: Layer.Layer<ModelService, E, R>
): Layer.Layer<ModelService, E, R> =>
  Layer.scopedContext(Effect.gen(function*() {
    const context = yield* Layer.build(layer)
    const warm = ping(Context.get(context, ModelService), options)
    if (options.wait === true) yield* warm
    else yield* Effect.forkScoped(warm)
    return context
  }))
