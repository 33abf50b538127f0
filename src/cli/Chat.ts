/**
 * `effect-adc chat`: a streaming, multi-turn conversation through ModelService. User
 * lines come from stdin (a terminal or a pipe); each answer is printed on stdout as it
 * streams in. The history, model turns included, is sent with every turn; Gemini's
 * thought signatures go back verbatim. `/exit` or end of input ends the chat.
 *
 * The backend comes from the flags, falling back to `ModelConfig`'s environment
 * variables (`EFFECT_ADC_MODEL_BACKEND`, `EFFECT_ADC_MODEL_URL`, `GOOGLE_CLOUD_PROJECT`,
 * …). A failed turn prints one line on stderr (`effect-adc: <ErrorTag>: <message>`)
 * and is dropped from the history; the chat goes on and exits with code 5.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Readline from "node:readline"
import * as AuthService from "../auth/AuthService.js"
import * as ModelConfig from "../model/ModelConfig.js"
import * as ModelConfigError from "../model/ModelConfigError.js"
import * as ModelError from "../model/ModelError.js"
import type * as ModelRequest from "../model/ModelRequest.js"
import { ModelService } from "../model/ModelService.js"
import { Turn } from "./internal/history.js"

/**
 * Options of {@link chat}: the flags.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ChatOptions {
  readonly model: string
  readonly backend: Option.Option<ModelConfig.BackendName>
  readonly url: Option.Option<string>
  readonly system: Option.Option<string>
}

/**
 * The exit code of a chat in which a turn failed with a ModelError.
 *
 * @since 0.1.0
 * @category Constants
 */
export const modelErrorExitCode = 5

/**
 * The flags as configuration, over the environment: a flag beats its variable.
 *
 * @since 0.1.0
 * @category Config
 */
export const configProvider = (options: Pick<ChatOptions, "backend" | "url">): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromJson({
    ...(Option.isSome(options.backend) ? { EFFECT_ADC_MODEL_BACKEND: options.backend.value } : {}),
    ...(Option.isSome(options.url) ? { EFFECT_ADC_MODEL_URL: options.url.value } : {})
  }).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))

/**
 * A model configuration that cannot work (a missing or invalid flag or variable).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ChatConfigInvalid
  extends Schema.TaggedError<ChatConfigInvalid>("effect-adc/ChatConfigInvalid")("ChatConfigInvalid", {
    /** What is wrong and how to fix it (one line). */
    detail: Schema.String
  })
{
  /** @since 0.1.0 */
  override get message(): string {
    return this.detail
  }
}

/** One line of stdin at a time; `undefined` at end of input. */
const lines = Effect.acquireRelease(
  Effect.sync(() => {
    const rl = Readline.createInterface({ input: process.stdin, terminal: false })
    const iterator = rl[Symbol.asyncIterator]()
    return { rl, next: Effect.promise(() => iterator.next().then((r) => r.done === true ? undefined : r.value)) }
  }),
  ({ rl }) => Effect.sync(() => rl.close())
)

const interactive = () => process.stdin.isTTY === true

/** One turn: the answer streamed to stdout as it arrives, and the model turn for the history. */
const turn = (request: ModelRequest.ModelRequest) =>
  Effect.flatMap(ModelService, (model) => {
    const answer = new Turn()
    let printed = false
    return model.stream(request).pipe(
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          answer.add(chunk)
          if (chunk.textDelta !== "") {
            printed = true
            process.stdout.write(chunk.textDelta)
          }
        })
      ),
      Effect.ensuring(Effect.sync(() => {
        if (printed) process.stdout.write("\n")
      })),
      Effect.zipRight(Effect.sync(() => answer.content()))
    )
  })

/** The conversation loop. */
const converse = (options: ChatOptions) =>
  Effect.gen(function*() {
    const input = yield* lines
    const history: Array<ModelRequest.Content> = []
    let failed = false
    if (interactive()) yield* Console.error(`effect-adc chat: ${options.model}; /exit or Ctrl-D ends it`)
    while (true) {
      if (interactive()) process.stderr.write("› ")
      const line = yield* input.next
      if (line === undefined || line.trim() === "/exit") break
      if (line.trim() === "") continue
      const user: ModelRequest.Content = { role: "user", parts: [{ _tag: "text", text: line }] }
      const result = yield* Effect.either(turn({
        model: options.model,
        contents: [...history, user],
        ...(Option.isSome(options.system) ? { system: options.system.value } : {})
      }))
      if (result._tag === "Right") {
        history.push(user, result.right)
      } else {
        failed = true
        yield* Console.error(`effect-adc: ${result.left._tag}: ${result.left.message}`)
      }
    }
    if (failed) process.exitCode = modelErrorExitCode
  }).pipe(Effect.scoped)

/**
 * Runs the chat. Fails before reading any input if the configuration is invalid
 * (`ChatConfigInvalid`) or ADC finds no usable credential (an AuthError).
 *
 * @since 0.1.0
 * @category Entry points
 */
export const chat = (options: ChatOptions) =>
  Effect.gen(function*() {
    // The configuration is checked before ADC is asked for anything: a usage error
    // should not wait for (or be hidden by) credential detection.
    const parsed = yield* Effect.mapError(
      ModelConfig.config,
      (error) => new ChatConfigInvalid({ detail: configMessage(ModelConfigError.fromConfigError(error).message) })
    )
    const config = withFlags(parsed, options)
    const missing = missingSetting(config)
    if (missing !== undefined) return yield* Effect.fail(new ChatConfigInvalid({ detail: configMessage(missing) }))
    const model = ModelConfig.layerFrom(config).pipe(
      Layer.mapError((error): ChatConfigInvalid | ModelError.ModelError =>
        ModelError.isModelError(error) ? error : new ChatConfigInvalid({ detail: configMessage(error.message) })
      )
    )
    return yield* converse(options).pipe(
      Effect.provide(model),
      Effect.provide(Layer.merge(AuthService.layerConfig(), FetchHttpClient.layer))
    )
  }).pipe(Effect.withConfigProvider(configProvider(options)))

/**
 * The flags over the parsed variables: `--backend` names one backend, so
 * `EFFECT_ADC_MODEL_ROUTES` does not apply; `--url` beats every URL variable,
 * `EFFECT_ADC_<BACKEND>_URL` included. (Both flags already went in as
 * `EFFECT_ADC_MODEL_BACKEND` / `EFFECT_ADC_MODEL_URL`, so they were validated.)
 */
const withFlags = (
  config: ModelConfig.ModelConfig,
  options: Pick<ChatOptions, "backend" | "url">
): ModelConfig.ModelConfig => ({
  ...config,
  ...(Option.isSome(options.backend) ? { routes: Option.none() } : {}),
  ...(Option.isSome(options.url) ? { urls: {} } : {})
})

/**
 * What the one backend needs beyond the parsed variables, said with the flag that
 * sets it. With routes, `ModelConfig.layerFrom` reports what a route lacks.
 */
const missingSetting = (config: ModelConfig.ModelConfig): string | undefined => {
  if (Option.isSome(config.routes ?? Option.none())) return undefined
  const backend = config.backend
  const variable = `EFFECT_ADC_${backend.toUpperCase().replace(/-/g, "_")}_URL`
  switch (backend) {
    case "gemini-vertex":
    case "vertex-openai":
      return Option.isNone(config.project)
        ? `the ${backend} backend needs a project: set GOOGLE_CLOUD_PROJECT (gcloud config get project)`
        : undefined
    case "ollama":
    case "openai-compatible":
      return config.urls?.[backend] === undefined && Option.isNone(config.url)
        ? `the ${backend} backend needs its Cloud Run URL: pass --url https://SERVICE-HASH-REGION.a.run.app ` +
          `(or set ${variable} or EFFECT_ADC_MODEL_URL)`
        : undefined
    case "gemini-api":
      return undefined
  }
}

/** A configuration error as one line with the fix. */
const configMessage = (text: string): string =>
  `invalid model configuration: ${text.replace(/\s+/g, " ").trim()} (flags and variables: docs/cli.md#chat)`
