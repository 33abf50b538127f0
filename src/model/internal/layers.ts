/**
 * The layers every backend module exports, from its client tag, the client's `make`
 * and the ModelService built over a client.
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
import { ModelService } from "../ModelService.js"
import { fromConfig } from "./options.js"

/** @internal */
export interface BackendLayers<Client, Options> {
  readonly model: Effect.Effect<ModelService.Service, never, Client>
  readonly make: (options: Options) => Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService>
  readonly layerModel: Layer.Layer<ModelService, never, Client>
  readonly layerClient: (options: Options) => Layer.Layer<Client, never, HttpClient.HttpClient | AuthService>
  readonly layerWithClient: (options: Options) => Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService>
  readonly layerConfig: (
    options: Config.Config.Wrap<Options>
  ) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService>
}

/** @internal */
export const backendLayers = <Client, Service, Options>(
  tag: Context.Tag<Client, Service>,
  makeClient: (options: Options) => Effect.Effect<Service, never, HttpClient.HttpClient | AuthService>,
  toModel: (client: Service) => ModelService.Service
): BackendLayers<Client, Options> => {
  const model = Effect.map(tag, (client) => ModelService.of(toModel(client)))
  const layerModel = Layer.effect(ModelService, model)
  const layerClient = (options: Options) => Layer.effect(tag, makeClient(options))
  const layerWithClient = (options: Options) => Layer.provide(layerModel, layerClient(options))
  return {
    model,
    make: (options) => Effect.provideServiceEffect(model, tag, makeClient(options)),
    layerModel,
    layerClient,
    layerWithClient,
    layerConfig: (options) => fromConfig(options, layerWithClient)
  }
}
