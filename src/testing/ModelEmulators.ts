/**
 * The three model emulators served the way the real ones are reached: Ollama and an
 * OpenAI-compatible (vLLM) server as private Cloud Run services behind the
 * emulator's front door (a Google-signed ID token for the service URL is required),
 * and Gemini on its own loopback host that accepts only the identity emulator's
 * access tokens (checked with its tokeninfo). One call gives the URLs to point a
 * `ModelService` layer, an SDK or the CLI at, and the emulators themselves for
 * their request logs and fault queues.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Emulator from "./Emulator.js"
import * as Loopback from "./Loopback.js"
import * as GeminiEmulator from "./models/GeminiEmulator.js"
import * as OllamaEmulator from "./models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "./models/OpenAICompatibleEmulator.js"
import * as VertexOpenAIEmulator from "./models/VertexOpenAIEmulator.js"

/**
 * Options of {@link serve}, {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelEmulatorsOptions {
  /** default: `authorize` checks access tokens with the identity emulator's tokeninfo */
  readonly gemini?: GeminiEmulator.GeminiEmulatorOptions
  readonly ollama?: OllamaEmulator.OllamaEmulatorOptions
  readonly openAICompatible?: OpenAICompatibleEmulator.OpenAICompatibleEmulatorOptions
  /** Vertex AI's OpenAI-compatible paths on the Gemini host; default `authorize` as Gemini's */
  readonly vertexOpenAI?: VertexOpenAIEmulator.VertexOpenAIEmulatorOptions
  /** Cloud Run service names (the host of their URLs); default `gemma-ollama` and `gemma-vllm` */
  readonly names?: { readonly ollama?: string; readonly openAICompatible?: string }
  /** who may invoke the Cloud Run services; default the emulator's service account, user and impersonation target */
  readonly invokers?: ReadonlyArray<string> | "allUsers"
}

/**
 * One served emulator: the URL to call and the emulator, for its request log,
 * `fail` and `reset`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Served<E> {
  readonly url: string
  readonly emulator: E
}

/**
 * The running model emulators.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelEmulatorsHandle {
  /** a Gemini base URL (both API and Vertex paths) that requires the identity emulator's access tokens */
  readonly gemini: Served<GeminiEmulator.GeminiEmulator>
  /** a private Cloud Run service URL, also the ID-token audience */
  readonly ollama: Served<OllamaEmulator.OllamaEmulator>
  /** a private Cloud Run service URL, also the ID-token audience */
  readonly openAICompatible: Served<OpenAICompatibleEmulator.OpenAICompatibleEmulator>
  /**
   * Vertex AI's OpenAI-compatible endpoint
   * (`/v1beta1/projects/{p}/locations/{l}/endpoints/{id}/chat/completions`), served on
   * the Gemini host (the same URL) with the same access-token check
   */
  readonly vertexOpenAI: Served<VertexOpenAIEmulator.VertexOpenAIEmulator>
  /** stop all three (the identity emulator keeps running) */
  close(): Promise<void>
}

/**
 * Serve the Gemini, Ollama and OpenAI-compatible emulators against a running
 * identity emulator.
 *
 * @example
 * ```ts
 * import { Emulator, ModelEmulators } from "effect-adc/testing"
 *
 * const emulator = await Emulator.start()
 * const models = await ModelEmulators.serve(emulator)
 * // 401 from the Cloud Run front door: no ID token
 * console.log((await fetch(`${models.ollama.url}/api/tags`)).status)
 * await models.close()
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const serve = async (
  emulator: Emulator.EmulatorHandle,
  options: ModelEmulatorsOptions = {}
): Promise<ModelEmulatorsHandle> => {
  const authorize = GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)
  const gemini = GeminiEmulator.make({ authorize, ...options.gemini })
  const vertexOpenAI = VertexOpenAIEmulator.make({
    authorize: options.gemini?.authorize ?? authorize,
    ...options.vertexOpenAI
  })
  const ollama = OllamaEmulator.make(options.ollama)
  const openAICompatible = OpenAICompatibleEmulator.make(options.openAICompatible)
  const invokers = options.invokers === undefined ? {} : { invokers: options.invokers }
  const opened: Array<{ close(): Promise<void> }> = []
  const close = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()))
  }
  try {
    const geminiServer = await Loopback.serve(vertexOpenAI.route(gemini.handler))
    opened.push(geminiServer)
    const ollamaService = await emulator.cloudRun.deploy({
      name: options.names?.ollama ?? "gemma-ollama",
      handler: ollama.handler,
      ...invokers
    })
    opened.push(ollamaService)
    const vllmService = await emulator.cloudRun.deploy({
      name: options.names?.openAICompatible ?? "gemma-vllm",
      handler: openAICompatible.handler,
      ...invokers
    })
    opened.push(vllmService)
    return {
      gemini: { url: geminiServer.url, emulator: gemini },
      vertexOpenAI: { url: geminiServer.url, emulator: vertexOpenAI },
      ollama: { url: ollamaService.url, emulator: ollama },
      openAICompatible: { url: vllmService.url, emulator: openAICompatible },
      close
    }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * The running model emulators as a service.
 *
 * @since 0.1.0
 * @category Tags
 */
export class ModelEmulators
  extends Context.Tag("effect-adc/testing/ModelEmulators")<ModelEmulators, ModelEmulatorsHandle>()
{}

/**
 * {@link serve} on the {@link Emulator.Emulator} in context, for the lifetime of the
 * current scope. A failure to start (no loopback) is a defect.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options?: ModelEmulatorsOptions
): Effect.Effect<ModelEmulatorsHandle, never, Emulator.Emulator | Scope.Scope> =>
  Effect.flatMap(Emulator.Emulator, (emulator) =>
    Effect.acquireRelease(
      Effect.promise(() => serve(emulator, options)),
      (handle) => Effect.promise(() => handle.close())
    ))

/**
 * The model emulators on the {@link Emulator.Emulator} the layer is given.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options?: ModelEmulatorsOptions): Layer.Layer<ModelEmulators, never, Emulator.Emulator> =>
  Layer.scoped(ModelEmulators, make(options))

/**
 * Everything a test needs in one layer: a fresh identity emulator and the model
 * emulators on it, both closed with the layer's scope. Build it per test (or per
 * file with `@effect/vitest`'s `layer`), then give `AuthService.layer` the
 * emulator's `clientOptions` and a backend layer the served URL.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Emulator, ModelEmulators } from "effect-adc/testing"
 *
 * const program = Effect.gen(function*() {
 *   const emulator = yield* Emulator.Emulator
 *   const models = yield* ModelEmulators.ModelEmulators
 *   return { project: emulator.projectId, gemma: models.ollama.url }
 * })
 *
 * Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(ModelEmulators.layerTest()))))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTest = (
  options: ModelEmulatorsOptions & { readonly emulator?: Emulator.EmulatorOptions } = {}
): Layer.Layer<ModelEmulators | Emulator.Emulator> =>
  layer(options).pipe(Layer.provideMerge(Emulator.layer(options.emulator)))
