/**
 * The four layer names every backend module exports (`make`, `layer`, `layerConfig`,
 * `layerModel`), from its client tag, the client's `make` and the ModelService built
 * over a client: written once, not per backend. Every service built here is
 * instrumented (`telemetry.ts`: GenAI spans and metrics, described by `describe`).
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import { charging } from "../ModelLimits.js"
import { ModelService } from "../ModelService.js"
import { fromConfig } from "./options.js"
import * as Telemetry from "./telemetry.js"

/** @internal */
export interface BackendLayers<Client, Options, E> {
  readonly make: (options: Options) => Effect.Effect<ModelService.Service, E, HttpClient.HttpClient | AuthService>
  readonly layer: (options: Options) => Layer.Layer<ModelService, E, HttpClient.HttpClient | AuthService>
  readonly layerConfig: (
    options: Config.Config.Wrap<Options>
  ) => Layer.Layer<ModelService, E | ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService>
  readonly layerModel: Layer.Layer<ModelService, never, Client>
}

/** @internal */
export const backendLayers = <Client, Service, Options, E>(
  tag: Context.Tag<Client, Service>,
  makeClient: (options: Options) => Effect.Effect<Service, E, HttpClient.HttpClient | AuthService>,
  toModel: (client: Service) => ModelService.Service,
  describe: (client: Service) => Telemetry.Provider
): BackendLayers<Client, Options, E> => {
  // with a ModelLimits in context, each answer's usage is charged to its key's token rate;
  // around it, the GenAI telemetry (the span covers the whole call)
  const model = (client: Service) =>
    Effect.flatMap(charging(toModel(client)), (service) =>
      Effect.map(
        Telemetry.captureContent,
        (content) => ModelService.of(Telemetry.instrument(service, describe(client), content))
      ))
  const layerModel = Layer.effect(ModelService, Effect.flatMap(tag, model))
  const layer = (options: Options) => Layer.provide(layerModel, Layer.effect(tag, makeClient(options)))
  return {
    make: (options) => Effect.flatMap(makeClient(options), model),
    layer,
    layerModel,
    layerConfig: (options) => fromConfig(options, layer)
  }
}
