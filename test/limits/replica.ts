/**
 * One replica of an app, as a separate process (bundled by test/limits/replicas.ts and
 * run with node): ADC from the emulator's metadata server, one backend, ModelLimits on
 * Redis (`redisUrl`) or per process, `requests` calls one after the other once the
 * test writes "go". Every HTTP request the backend sends and every answer it gets is
 * printed (`@@ {json}`) with its wall-clock time, so the test sees each attempt.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as AuthService from "../../src/auth/AuthService.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as ModelLimits from "../../src/model/ModelLimits.js"
import * as ModelLimitsRedis from "../../src/model/ModelLimitsRedis.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"

export interface ReplicaConfig {
  readonly id: string
  readonly kind: "gemini" | "ollama"
  readonly url: string
  readonly model: string
  readonly requests: number
  readonly redisUrl?: string | undefined
  readonly prefix?: string | undefined
  readonly limits?: ModelLimits.Options | undefined
  readonly retries: number
  readonly stream?: boolean | undefined
  readonly firstChunkTimeoutMs?: number | undefined
  /** Milliseconds to wait before each call (the last value repeats). */
  readonly pausesMs?: ReadonlyArray<number> | undefined
}

const config: ReplicaConfig = JSON.parse(process.env["REPLICA"] ?? "{}")
const print = (line: Record<string, unknown>) => process.stdout.write(`@@ ${JSON.stringify(line)}\n`)

/** The HttpClient under the backend: prints each model request it sends and the status it gets. */
const logging = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) =>
    HttpClient.transform(client, (effect, request) => {
      if (!request.url.startsWith(config.url)) return effect
      return Effect.sync(() => print({ sent: Date.now() })).pipe(
        Effect.zipRight(effect),
        Effect.tap((response) => Effect.sync(() => print({ status: response.status, received: Date.now() })))
      )
    }))
).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The store, printing when each cooldown read starts (`checked`) and when each cooldown
 * write is done (`cooled`), so the test can tell what a replica could know when it sent.
 */
const observed = (store: ModelLimits.Store): ModelLimits.Store => {
  const checked = <A>(read: Effect.Effect<A>) =>
    Effect.zipRight(Effect.sync(() => print({ checked: Date.now() })), read)
  return {
    ...store,
    state: (key) => checked(store.state(key)),
    cooldown: (key) => checked(store.cooldown(key)),
    setCooldown: (key, millis) =>
      Effect.tap(store.setCooldown(key, millis), () => Effect.sync(() => print({ cooled: Date.now(), millis })))
  }
}

const limits = Layer.scoped(
  ModelLimits.ModelLimits,
  Effect.map(
    config.redisUrl === undefined
      ? Effect.sync(() => ModelLimits.memoryStore())
      : ModelLimitsRedis.makeStore({
        ...config.limits,
        url: config.redisUrl,
        prefix: config.prefix,
        commandTimeout: "2 seconds"
      }),
    (store) => ModelLimits.make(observed(store), config.limits)
  )
)

const backendOptions = {
  retry: RetryPolicy.make({ retries: config.retries, base: "50 millis", cap: "500 millis" }),
  maxRetryAfter: Duration.seconds(10),
  headers: { "x-replica": config.id },
  ...(config.firstChunkTimeoutMs === undefined
    ? {}
    : { firstChunkTimeout: Duration.millis(config.firstChunkTimeoutMs) })
}
const backend = config.kind === "gemini"
  ? GeminiApi.layer({ ...backendOptions, baseUrl: config.url, origins: [config.url] })
  : Ollama.layer({ ...backendOptions, url: config.url })

const auth = AuthService.layer({ projectId: "emulator-project" })

const go = new Promise<void>((resolve) => {
  let input = ""
  process.stdin.on("data", (data: Buffer) => {
    input += data.toString()
    if (input.includes("go")) resolve()
  })
})

const program = Effect.gen(function*() {
  const authService = yield* AuthService.AuthService
  // warm the token cache before the start line, so the first call does not wait for a token
  yield* config.kind === "gemini" ? authService.accessToken() : authService.idToken(config.url)
  const model = yield* ModelService
  print({ ready: true })
  yield* Effect.promise(() => go)
  for (let i = 0; i < config.requests; i++) {
    const pause = config.pausesMs?.[Math.min(i, config.pausesMs.length - 1)] ?? 0
    if (pause > 0) yield* Effect.sleep(pause)
    const request = { model: config.model, contents: [ModelRequest.user(`${config.id} ${i}`)] }
    const call = config.stream === true
      ? Effect.map(Stream.runCollect(model.stream(request)), () => "streamed")
      : Effect.map(model.generate(request), (response) => response.text)
    const started = Date.now()
    const outcome = yield* Effect.either(call)
    print(
      outcome._tag === "Right"
        ? { call: i, ok: true, started, ended: Date.now() }
        : {
          call: i,
          ok: false,
          started,
          ended: Date.now(),
          error: outcome.left._tag,
          reason: "errorReason" in outcome.left ? outcome.left.errorReason : undefined
        }
    )
  }
  print({ done: true })
}).pipe(
  Effect.provide(Layer.provideMerge(backend, Layer.mergeAll(auth, logging, limits))),
  Effect.scoped
)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    print({ fatal: String(error) })
    process.exit(1)
  }
)
