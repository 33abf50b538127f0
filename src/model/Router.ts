/**
 * A ModelService that picks a backend by model name (`gemini-*` → Vertex, `gemma*` →
 * Cloud Run) and can fall back to another backend when the chosen one fails with a
 * retryable error (after its own retries). A stream falls back only if it failed
 * before emitting anything. Gemini thought signatures are dropped from a request that
 * falls back: they are only valid for the model that produced them.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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
  readonly fallback?: { readonly layer: Layer.Layer<ModelService, E, R>; readonly model?: string } | undefined
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
      if (part._tag === "functionCall") {
        const { thoughtSignature: _, ...rest } = part
        return [rest]
      }
      return [part]
    })
  }))
})

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  routes: ReadonlyArray<{ readonly match: string | RegExp; readonly service: ModelService.Service }>,
  fallback?: { readonly service: ModelService.Service; readonly model?: string | undefined }
): ModelService.Service => {
  const compiled = routes.map((route) => ({ pattern: toRegExp(route.match), service: route.service }))
  const pick = (model: string): ModelService.Service | undefined =>
    compiled.find((route) => route.pattern.test(model))?.service
  const noRoute = (model: string) =>
    new ModelError.NotFound({
      backend: compiled[0]?.service.backend ?? "gemini-vertex",
      detail: `no route matches model ${JSON.stringify(model)}; add a route for it`
    })
  const next = <A>(request: ModelRequest.ModelRequest<A>): ModelRequest.ModelRequest<A> => {
    const stripped = dropThoughtSignatures(request)
    return fallback?.model === undefined ? stripped : { ...stripped, model: fallback.model }
  }
  return ModelService.of({
    backend: compiled[0]?.service.backend ?? "gemini-vertex",
    generate: (request) => {
      const service = pick(request.model)
      if (service === undefined) return Effect.fail(noRoute(request.model))
      const primary = service.generate(request)
      return fallback === undefined || fallback.service === service ? primary : Effect.catchIf(
        primary,
        (error) => error.isRetryable,
        () => fallback.service.generate(next(request))
      )
    },
    stream: (request) =>
      Stream.suspend(() => {
        const service = pick(request.model)
        if (service === undefined) return Stream.fail(noRoute(request.model))
        if (fallback === undefined || fallback.service === service) return service.stream(request)
        let emitted = false
        return service.stream(request).pipe(
          Stream.tap(() => Effect.sync(() => (emitted = true))),
          Stream.catchAll((error) =>
            !emitted && error.isRetryable ? fallback.service.stream(next(request)) : Stream.fail(error)
          )
        )
      }),
    countTokens: (request) => {
      const service = pick(request.model)
      return service === undefined ? Effect.fail(noRoute(request.model)) : service.countTokens(request)
    }
  })
}

/**
 * Builds every route's layer (and the fallback's) and routes between them.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <E, R>(options: Options<E, R>): Layer.Layer<ModelService, E, R> =>
  Layer.scoped(
    ModelService,
    Effect.gen(function*() {
      const build = (layer: Layer.Layer<ModelService, E, R>) =>
        Effect.map(Layer.build(layer), (context) => Context.get(context, ModelService))
      const routes = yield* Effect.forEach(options.routes, (route) =>
        Effect.map(build(route.layer), (service) => ({ match: route.match, service })))
      const fallback = options.fallback === undefined
        ? undefined
        : { service: yield* build(options.fallback.layer), model: options.fallback.model }
      return make(routes, fallback)
    })
  )
