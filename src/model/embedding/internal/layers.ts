/**
 * The layer names every embedding backend module exports (`make`, `layer`,
 * `layerConfig`, `layerModel`), from its wire client's tag and `make` and the
 * EmbeddingService built over a client: written once, not per backend.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AuthService } from "../../../auth/AuthService.js"
import { fromConfig } from "../../internal/options.js"
import type * as ModelConfigError from "../../ModelConfigError.js"
import { type BatchOptions, EmbeddingService } from "../EmbeddingService.js"

/** @internal */
export interface EmbeddingLayers<Client, Options, E> {
  readonly make: (options: Options) => Effect.Effect<EmbeddingService.Service, E, HttpClient.HttpClient | AuthService>
  readonly layer: (options: Options) => Layer.Layer<EmbeddingService, E, HttpClient.HttpClient | AuthService>
  readonly layerConfig: (
    options: Config.Config.Wrap<Options>
  ) => Layer.Layer<EmbeddingService, E | ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService>
  readonly layerModel: (options?: BatchOptions) => Layer.Layer<EmbeddingService, never, Client>
}

/** @internal */
export const embeddingLayers = <Client, Service, Options extends BatchOptions, E>(
  tag: Context.Tag<Client, Service>,
  makeClient: (options: Options) => Effect.Effect<Service, E, HttpClient.HttpClient | AuthService>,
  toService: (client: Service, options: BatchOptions) => EmbeddingService.Service
): EmbeddingLayers<Client, Options, E> => {
  const batch = (options: BatchOptions): BatchOptions => ({
    maxBatchSize: options.maxBatchSize,
    concurrency: options.concurrency
  })
  const make = (options: Options) =>
    Effect.map(makeClient(options), (client) => EmbeddingService.of(toService(client, batch(options))))
  const layer = (options: Options) => Layer.effect(EmbeddingService, make(options))
  return {
    make,
    layer,
    layerConfig: (options) => fromConfig(options, layer),
    layerModel: (options = {}) =>
      Layer.effect(
        EmbeddingService,
        Effect.map(tag, (client) => EmbeddingService.of(toService(client, batch(options))))
      )
  }
}
