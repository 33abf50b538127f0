/**
 * Shared limits for model calls: what every replica of an app must agree on before it
 * sends a request to a model backend. Per backend key — (project, location, model) on
 * Vertex AI, origin + model for the Gemini API and self-hosted servers — it keeps:
 *
 * - a **cooldown**: a `RateLimited` whose server asked to wait (`Retry-After`,
 *   `RetryInfo.retryDelay`) holds every request to that key, in every process sharing
 *   the store, until the delay has passed;
 * - a **request rate** and a **token rate** (input + output tokens per window, charged
 *   from each response's usage), as token buckets: a request waits for its slot;
 * - a **circuit breaker**: after `failures` consecutive failures of the retryable kinds
 *   (a 429 with a retry delay counts as a cooldown, not a failure) the key is open for
 *   `openFor`, calls fail at once with `Unavailable` (`errorReason: "CIRCUIT_OPEN"`,
 *   retryable, so a Router goes to its fallback without waiting), then one call probes
 *   it (half-open) and its outcome closes or reopens it.
 *
 * The backends consult it before sending each attempt, retries included, when a
 * `ModelLimits` layer is in their context (`layerMemory` for one process, the Redis
 * layer of `effect-adc/limits/redis` for many). Rate and health state are shared;
 * tokens never are.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { makeMemoryStore } from "./internal/limitsMemory.js"
import * as ModelError from "./ModelError.js"
import type * as ModelResponse from "./ModelResponse.js"
import type { ModelService } from "./ModelService.js"

/**
 * Rates for one key, over `window` (default one minute).
 *
 * @since 0.2.0
 * @category Models
 */
export interface Rates {
  /** Requests (attempts) per window. */
  readonly requests?: number | undefined
  /** Input + output tokens per window, charged from each response's usage. */
  readonly tokens?: number | undefined
  /** Default one minute. */
  readonly window?: Duration.DurationInput | undefined
}

/**
 * The circuit breaker's settings.
 *
 * @since 0.2.0
 * @category Models
 */
export interface BreakerOptions {
  /** Consecutive failures of the retryable kinds that open it; default 5. */
  readonly failures?: number | undefined
  /** How long it stays open before one probe may go; default 30 seconds. */
  readonly openFor?: Duration.DurationInput | undefined
  /** How long a probe holds the half-open key before another may try; default 30 seconds. */
  readonly probeTimeout?: Duration.DurationInput | undefined
  /** Failures further apart than this are not consecutive; default 1 minute. */
  readonly failureWindow?: Duration.DurationInput | undefined
}

/**
 * The breaker's settings in milliseconds, as a store sees them.
 *
 * @since 0.2.0
 * @category Models
 */
export interface BreakerSettings {
  readonly failures: number
  readonly openMillis: number
  readonly probeMillis: number
  readonly failureWindowMillis: number
  /** How long a key stays half-open (waiting for a successful probe) before it closes by itself. */
  readonly halfOpenMillis: number
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends Rates {
  /** Rates per key, over the defaults above (e.g. a higher quota for one model). */
  readonly rates?: ((key: Key) => Rates | undefined) | undefined
  /** The circuit breaker; `false` turns it off. Default: on, with the defaults of `BreakerOptions`. */
  readonly breaker?: BreakerOptions | false | undefined
  /**
   * The longest wait (cooldown, rate) a request accepts before it is sent; a longer one
   * fails at once with `RateLimited` carrying the wait as its `retryAfter`. Default 60 seconds.
   */
  readonly maxWait?: Duration.DurationInput | undefined
}

/**
 * A backend key: which quota and which server health a request counts against.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Key {
  readonly backend: ModelError.Backend
  /** `projects/P/locations/L` on Vertex AI, else the origin. */
  readonly scope: string
  readonly model: string
}

/**
 * What a store knows about one key.
 *
 * @since 0.2.0
 * @category Models
 */
export interface KeyState {
  /** Milliseconds left of the cooldown; 0 when there is none. */
  readonly cooldownMillis: number
  /** Milliseconds left while the breaker is open; 0 when it is closed or half-open. */
  readonly openMillis: number
  /** The breaker waits for a probe. */
  readonly halfOpen: boolean
  /** Consecutive failures counted so far. */
  readonly failures: number
}

/**
 * Where the state lives: the process (`layerMemory`) or Redis (`effect-adc/limits/redis`).
 * A store never fails: a shared store that cannot be reached answers from a
 * per-process one.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Store {
  readonly state: (key: string) => Effect.Effect<KeyState>
  readonly cooldown: (key: string) => Effect.Effect<number>
  /** Extends the key's cooldown to at least `millis` from now. */
  readonly setCooldown: (key: string, millis: number) => Effect.Effect<void>
  /** Takes one request from the key's bucket; the milliseconds to wait for its slot. */
  readonly takeRequest: (key: string, limit: number, windowMillis: number) => Effect.Effect<number>
  /** The milliseconds until the key's token bucket is no longer in debt. */
  readonly tokenWait: (key: string, limit: number, windowMillis: number) => Effect.Effect<number>
  readonly chargeTokens: (key: string, tokens: number, limit: number, windowMillis: number) => Effect.Effect<void>
  /** Claims the one probe of a half-open key for `millis`; `false` when another holds it. */
  readonly tryProbe: (key: string, millis: number) => Effect.Effect<boolean>
  /** Closes the breaker (no failures). */
  readonly recordSuccess: (key: string) => Effect.Effect<void>
  /** Counts a failure; opens the breaker at the threshold, or at once after a failed probe. */
  readonly recordFailure: (key: string, settings: BreakerSettings, probe: boolean) => Effect.Effect<void>
}

/**
 * @since 0.2.0
 * @category Tags
 */
export class ModelLimits extends Context.Tag("effect-adc/ModelLimits")<ModelLimits, ModelLimits.Service>() {}

/**
 * @since 0.2.0
 * @category Models
 */
export declare namespace ModelLimits {
  /**
   * @since 0.2.0
   * @category Models
   */
  export interface Service {
    /**
     * Runs one call: the breaker is checked once (open: `Unavailable` at once), then
     * `retry` runs `attempt`, each attempt after the key's cooldown and rate waits, its
     * outcome recorded (cooldown from a server delay, breaker failures or success).
     */
    readonly guard: <A>(
      context: ModelError.Context,
      attempt: Effect.Effect<A, ModelError.ModelError>,
      retry: (attempt: Effect.Effect<A, ModelError.ModelError>) => Effect.Effect<A, ModelError.ModelError>
    ) => Effect.Effect<A, ModelError.ModelError>
    /** Charges a response's tokens to the key's token rate. */
    readonly charge: (key: Key, tokens: number) => Effect.Effect<void>
    /** The key's state as the store sees it. */
    readonly status: (key: Key) => Effect.Effect<KeyState>
  }
}

/**
 * The key of a call: backend, scope (`projects/P/locations/L` on Vertex AI, else the
 * origin) and model.
 *
 * @since 0.2.0
 * @category Utils
 */
export const keyOf = (context: ModelError.Context): Key => {
  const url = context.url ?? ""
  const vertex = /\/(projects\/[^/]+\/locations\/[^/]+)\//.exec(url)
  let scope = url
  if (vertex !== null) scope = vertex[1]!
  else {
    try {
      scope = new URL(url).origin
    } catch {
      // keep the text as given
    }
  }
  return { backend: context.backend, scope, model: context.model ?? "" }
}

/**
 * A key as the store names it: `backend|scope|model`.
 *
 * @since 0.2.0
 * @category Utils
 */
export const keyString = (key: Key): string => `${key.backend}|${key.scope}|${key.model}`

/**
 * The breaker's settings from its options (defaults filled in).
 *
 * @since 0.2.0
 * @category Utils
 */
export const breakerSettings = (options: BreakerOptions = {}): BreakerSettings => {
  const openMillis = Duration.toMillis(options.openFor ?? "30 seconds")
  return {
    failures: options.failures ?? 5,
    openMillis,
    probeMillis: Duration.toMillis(options.probeTimeout ?? "30 seconds"),
    failureWindowMillis: Duration.toMillis(options.failureWindow ?? "1 minute"),
    halfOpenMillis: Math.max(10 * openMillis, 10 * 60_000)
  }
}

/** Failures that count towards opening the breaker: the retryable kinds, but a server's quota delay. */
const countsAsFailure = (error: ModelError.ModelError): boolean =>
  error.isRetryable && !(error._tag === "Unavailable" && error.errorReason === "CIRCUIT_OPEN") &&
  !(error._tag === "RateLimited" && Option.isSome(error.retryAfter))

/**
 * The key a call charged, handed from the call engine to the service wrapper that reads
 * the response's usage.
 *
 * @internal
 */
export class ChargeTarget extends Context.Tag("effect-adc/ModelLimits/ChargeTarget")<
  ChargeTarget,
  { key: Key | undefined }
>() {}

/**
 * ModelLimits over a store.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (store: Store, options: Options = {}): ModelLimits.Service => {
  const breaker = options.breaker === false ? undefined : breakerSettings(options.breaker)
  const maxWait = Duration.toMillis(options.maxWait ?? "60 seconds")
  const ratesOf = (key: Key) => {
    const rates = { ...options, ...options.rates?.(key) }
    return {
      requests: rates.requests,
      tokens: rates.tokens,
      windowMillis: Duration.toMillis(rates.window ?? "1 minute")
    }
  }

  const circuitOpen = (context: ModelError.Context, millis: number, why: string) =>
    new ModelError.Unavailable({
      ...context,
      detail: `not sent: ${why}`,
      errorReason: "CIRCUIT_OPEN",
      retryAfterMillis: millis
    })

  /** Waits for the key's cooldown and rate slots (re-reading a cooldown another replica may extend). */
  const admit = (
    context: ModelError.Context,
    name: string,
    rates: ReturnType<typeof ratesOf>,
    known: number | undefined
  ): Effect.Effect<void, ModelError.ModelError> =>
    Effect.gen(function*() {
      const request = rates.requests === undefined
        ? 0
        : yield* store.takeRequest(name, rates.requests, rates.windowMillis)
      let cooldown = known ?? (yield* store.cooldown(name))
      let waited = 0
      for (let round = 0; round < 8; round++) {
        const tokens = rates.tokens === undefined ? 0 : yield* store.tokenWait(name, rates.tokens, rates.windowMillis)
        const wait = Math.max(cooldown, round === 0 ? request : 0, tokens)
        if (wait <= 0) return
        if (waited + wait > maxWait) {
          return yield* Effect.fail(
            new ModelError.RateLimited({
              ...context,
              detail: `not sent: the shared limits hold this model for ${waited + wait} ms more than maxWait allows`,
              retryAfterMillis: wait
            })
          )
        }
        yield* Effect.sleep(Duration.millis(wait))
        waited += wait
        cooldown = yield* store.cooldown(name)
      }
    })

  const record = (name: string, probe: boolean, state: KeyState) => (exit: Exit.Exit<unknown, ModelError.ModelError>) =>
    Exit.match(exit, {
      onSuccess: () =>
        breaker !== undefined && (probe || state.failures > 0 || state.halfOpen)
          ? store.recordSuccess(name)
          : Effect.void,
      onFailure: (cause) =>
        Effect.gen(function*() {
          for (const error of Cause.failures(cause)) {
            const after = error.retryAfter
            if (error._tag === "RateLimited" && Option.isSome(after)) {
              yield* store.setCooldown(name, Duration.toMillis(after.value))
            }
            if (breaker !== undefined && countsAsFailure(error)) yield* store.recordFailure(name, breaker, probe)
          }
        })
    })

  return ModelLimits.of({
    guard: (context, attempt, retry) =>
      Effect.gen(function*() {
        const key = keyOf(context)
        const target = yield* Effect.serviceOption(ChargeTarget)
        if (Option.isSome(target)) target.value.key = key
        const name = keyString(key)
        const rates = ratesOf(key)
        const state = yield* store.state(name)
        let probe = false
        if (breaker !== undefined) {
          if (state.openMillis > 0) {
            return yield* Effect.fail(
              circuitOpen(context, state.openMillis, `the circuit breaker is open after ${breaker.failures} failures`)
            )
          }
          if (state.halfOpen) {
            probe = yield* store.tryProbe(name, breaker.probeMillis)
            if (!probe) {
              return yield* Effect.fail(
                circuitOpen(context, breaker.probeMillis, "the circuit breaker is half-open and another call probes it")
              )
            }
          }
        }
        let known: number | undefined = state.cooldownMillis
        return yield* retry(Effect.suspend(() => {
          const cooldown = known
          known = undefined
          return Effect.zipRight(
            admit(context, name, rates, cooldown),
            Effect.onExit(attempt, record(name, probe, state))
          )
        }))
      }),
    charge: (key, tokens) => {
      const rates = ratesOf(key)
      return rates.tokens === undefined || !(tokens > 0)
        ? Effect.void
        : store.chargeTokens(keyString(key), tokens, rates.tokens, rates.windowMillis)
    },
    status: (key) => store.state(keyString(key))
  })
}

/**
 * A store whose state lives in this process only (what `layerMemory` uses).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const memoryStore = (): Store => makeMemoryStore()

/**
 * Per-process limits: the state lives in this process only (one replica, or tests).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerMemory = (options: Options = {}): Layer.Layer<ModelLimits> =>
  Layer.sync(ModelLimits, () => make(makeMemoryStore(), options))

/** The tokens a response's usage charges: total, else input + output. */
const tokensOf = (usage: ModelResponse.Usage | undefined): number =>
  usage === undefined
    ? 0
    : usage.totalTokens ?? ((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0) + (usage.thoughtTokens ?? 0))

/**
 * A ModelService that charges each answer's usage to the key its call went to (when a
 * ModelLimits is in context when the service is built).
 *
 * @internal
 */
export const charging = (service: ModelService.Service): Effect.Effect<ModelService.Service> =>
  Effect.map(Effect.serviceOption(ModelLimits), (option) => {
    if (Option.isNone(option)) return service
    const limits = option.value
    const charge = (target: { key: Key | undefined }, usage: ModelResponse.Usage | undefined) =>
      target.key === undefined ? Effect.void : limits.charge(target.key, tokensOf(usage))
    return {
      ...service,
      generate: (request) =>
        Effect.suspend(() => {
          const target: { key: Key | undefined } = { key: undefined }
          return service.generate(request).pipe(
            Effect.provideService(ChargeTarget, target),
            Effect.tap((response) => charge(target, response.usage))
          )
        }),
      stream: (request) =>
        Stream.suspend(() => {
          const target: { key: Key | undefined } = { key: undefined }
          return service.stream(request).pipe(
            Stream.provideService(ChargeTarget, target),
            Stream.tap((chunk) => chunk.finish === undefined ? Effect.void : charge(target, chunk.finish.usage))
          )
        })
    }
  })
