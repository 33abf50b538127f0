/**
 * A ModelService that picks a backend by model name (`gemini-*` → Vertex, `gemma*` →
 * Cloud Run) and can fall back to another backend when the chosen one fails with a
 * retryable error (after its own retries), expressed as an Effect `ExecutionPlan`. A
 * stream falls back only if it failed before emitting anything. Gemini thought
 * signatures are dropped from a request that falls back: they are only valid for the
 * model that produced them.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionPlan from "effect/ExecutionPlan"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ModelError from "./ModelError.js"
import type * as ModelRequest from "./ModelRequest.js"
import { ModelService } from "./ModelService.js"

/**
 * A route: model names matching `match` (a glob with `*`, or a RegExp) go to `layer`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Route<E, R> {
  readonly match: string | RegExp
  readonly layer: Layer.Layer<ModelService, E, R>
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options<E, R> {
  readonly routes: ReadonlyArray<Route<E, R>>
  /** Where a retryable failure goes next; `model` replaces the request's model. */
  readonly fallback?:
    | { readonly layer: Layer.Layer<ModelService, E, R>; readonly model?: string | undefined }
    | undefined
  /**
   * Streams with a fallback: the longest wait for the routed backend's first chunk, from
   * the call (a Cloud Run GPU cold start, retries included). Past it, the stream is
   * cancelled and the fallback answers instead; once a chunk came, no deadline applies.
   */
  readonly firstChunkTimeout?: Duration.DurationInput | undefined
}

const toRegExp = (match: string | RegExp): RegExp =>
  typeof match === "string"
    ? new RegExp(`^${match.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
    : match

/**
 * The request without thought signatures and thought parts (for another model).
 *
 * @since 0.1.0
 * @category Utils
 */
export const dropThoughtSignatures = <A>(request: ModelRequest.ModelRequest<A>): ModelRequest.ModelRequest<A> => ({
  ...request,
  contents: request.contents.map((content) => ({
    ...content,
    parts: content.parts.flatMap((part): Array<ModelRequest.Part> => {
      if (part._tag === "text") {
        if (part.thought === true) return []
        const { thoughtSignature: _, ...rest } = part
        return [rest]
      }
      if (part._tag === "functionCall" || part._tag === "inlineData" || part._tag === "executableCode") {
        const { thoughtSignature: _, ...rest } = part
        return [rest]
      }
      return [part]
    })
  }))
})

/**
 * The fallback as the route's second step: an `ExecutionPlan` whose first step is the
 * routed backend and whose second, taken once and only after a retryable failure (the
 * backend's own retries are spent by then), is the fallback backend asked with the
 * fallback model and without thought signatures.
 */
const planFor = (
  primary: ModelService.Service,
  fallback: { readonly service: ModelService.Service; readonly model?: string | undefined },
  firstChunkTimeout: Duration.DurationInput | undefined
): ExecutionPlan.ExecutionPlan<{
  provides: ModelService
  input: ModelError.ModelError
  error: never
  requirements: never
}> => {
  const next = <A>(request: ModelRequest.ModelRequest<A>): ModelRequest.ModelRequest<A> => {
    const stripped = dropThoughtSignatures(request)
    return fallback.model === undefined ? stripped : { ...stripped, model: fallback.model }
  }
  const secondary = ModelService.of({
    generate: (request) => fallback.service.generate(next(request)),
    stream: (request) => fallback.service.stream(next(request)),
    countTokens: (request) => fallback.service.countTokens(next(request))
  })
  // errors of a fallback stream the first-chunk deadline already switched to: not retried on it again
  const fromFallback = new WeakSet<ModelError.ModelError>()
  const first = firstChunkTimeout === undefined ? primary : ModelService.of({
    ...primary,
    stream: (request) =>
      firstChunkWithin(
        primary.stream(request),
        Duration.decode(firstChunkTimeout),
        () => Stream.tapError(secondary.stream(request), (error) => Effect.sync(() => fromFallback.add(error)))
      )
  })
  // steps provide `Layer.succeed` (which cannot fail: `make` infers its error as never; from a
  // bare Context it would infer unknown)
  return ExecutionPlan.make(
    { provide: Layer.succeed(ModelService, first) },
    {
      provide: Layer.succeed(ModelService, secondary),
      attempts: 1,
      while: (error: ModelError.ModelError) => error.isRetryable && !fromFallback.has(error)
    }
  )
}

/**
 * A stream whose first chunk must come within `deadline`: past it, the stream is
 * cancelled (its connection closed) and `late()` answers instead. After the first chunk
 * the stream runs as it is.
 */
const firstChunkWithin = <A, E>(
  stream: Stream.Stream<A, E>,
  deadline: Duration.Duration,
  late: () => Stream.Stream<A, E>
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const pull = yield* Scope.extend(Stream.toPull(stream), scope)
    const first = yield* Effect.timeoutTo(Effect.either(pull), {
      duration: deadline,
      onSuccess: Option.some,
      onTimeout: Option.none
    })
    if (Option.isNone(first)) {
      yield* Scope.close(scope, Exit.void)
      return late()
    }
    const chunk = first.value
    // the pull fails with None at the end of the stream, with Some(error) on an error
    if (Either.isLeft(chunk)) return Option.match(chunk.left, { onNone: () => Stream.empty, onSome: Stream.fail })
    return Stream.concat(Stream.fromChunk(chunk.right), Stream.repeatEffectChunkOption(pull))
  }))

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  routes: ReadonlyArray<{ readonly match: string | RegExp; readonly service: ModelService.Service }>,
  fallback?: { readonly service: ModelService.Service; readonly model?: string | undefined },
  options: { readonly firstChunkTimeout?: Duration.DurationInput | undefined } = {}
): ModelService.Service => {
  const compiled = routes.map((route) => {
    const plan = fallback === undefined || fallback.service === route.service
      ? undefined
      : planFor(route.service, fallback, options.firstChunkTimeout)
    return { pattern: toRegExp(route.match), service: route.service, plan }
  })
  const pick = (model: string) => compiled.find((route) => route.pattern.test(model))
  const patterns = routes.map((route) => String(route.match))
  const noRoute = (model: string) => new ModelError.NoRoute({ model, routes: patterns })
  return ModelService.of({
    generate: (request) =>
      Effect.suspend(() => {
        const route = pick(request.model)
        if (route === undefined) return Effect.fail(noRoute(request.model))
        if (route.plan === undefined) return route.service.generate(request)
        return Effect.flatMap(ModelService, (model) => model.generate(request)).pipe(
          Effect.withExecutionPlan(route.plan)
        )
      }),
    stream: (request) =>
      Stream.suspend(() => {
        const route = pick(request.model)
        if (route === undefined) return Stream.fail(noRoute(request.model))
        if (route.plan === undefined) return route.service.stream(request)
        return Stream.unwrap(Effect.map(ModelService, (model) => model.stream(request))).pipe(
          // a stream that emitted output is never replayed on another backend
          Stream.withExecutionPlan(route.plan, { preventFallbackOnPartialStream: true })
        )
      }),
    countTokens: (request) =>
      Effect.suspend(() => {
        const route = pick(request.model)
        return route === undefined ? Effect.fail(noRoute(request.model)) : route.service.countTokens(request)
      })
  })
}

/**
 * Builds every distinct route layer (and the fallback's) once and routes between them.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <E, R>(options: Options<E, R>): Layer.Layer<ModelService, E, R> =>
  Layer.scoped(
    ModelService,
    Effect.gen(function*() {
      const built = new Map<Layer.Layer<ModelService, E, R>, ModelService.Service>()
      const build = (layer: Layer.Layer<ModelService, E, R>) =>
        Effect.suspend(() => {
          const existing = built.get(layer)
          if (existing !== undefined) return Effect.succeed(existing)
          return Effect.map(Layer.build(layer), (context) => {
            const service = Context.get(context, ModelService)
            built.set(layer, service)
            return service
          })
        })
      const routes = yield* Effect.forEach(options.routes, (route) =>
        Effect.map(build(route.layer), (service) => ({ match: route.match, service })))
      const fallback = options.fallback === undefined
        ? undefined
        : { service: yield* build(options.fallback.layer), model: options.fallback.model }
      return make(routes, fallback, { firstChunkTimeout: options.firstChunkTimeout })
    })
  )
