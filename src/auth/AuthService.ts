/**
 * One Application Default Credentials source for the whole app: OAuth access tokens
 * for Google APIs and Google-signed ID tokens for Cloud Run, cached and refreshed in
 * the background.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AuthService } from "effect-adc/auth"
 *
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthService.AuthService
 *   const headers = yield* auth.headers({ kind: "id", audience: "https://gemma-abc-uc.a.run.app" })
 *   return headers
 * })
 *
 * program.pipe(Effect.provide(AuthService.layer()), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import {
  type AccessTokenError,
  AuthConfigInvalid,
  AuthServiceClosed,
  type DetectError,
  type IdTokenError,
  InvalidAudience,
  TokenTooShortLived
} from "./AuthError.js"
import type { TokenEndpoint } from "./AuthError.js"
import type { AuthToken } from "./AuthToken.js"
import type { CredentialSource, Identity } from "./CredentialSource.js"
import { detect } from "./internal/googleAuthSource.js"
import * as TokenCache from "./TokenCache.js"
import { type AccessTarget, audienceProblem, cacheKey, normalizeScopes, type TokenTarget } from "./TokenTarget.js"

/**
 * Request headers for a target, lower-case names (`authorization`,
 * `x-serverless-authorization`, `x-goog-user-project`).
 *
 * @since 0.1.0
 * @category Models
 */
export type AuthHeaders = Readonly<Record<string, string>>

/**
 * The auth service.
 *
 * @since 0.1.0
 * @category Tags
 */
export class AuthService extends Context.Tag("effect-adc/AuthService")<AuthService, AuthService.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace AuthService {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** Which credential ADC found, its principal and project. Safe to print. */
    readonly identity: Identity
    /** An access token for Google APIs (default scopes: the `scopes` option, else cloud-platform). */
    readonly accessToken: (
      options?: { readonly scopes?: ReadonlyArray<string> | undefined } | undefined
    ) => Effect.Effect<AuthToken, AccessTokenError>
    /** A Google-signed ID token for an audience (a Cloud Run URL or a custom audience). */
    readonly idToken: (audience: string) => Effect.Effect<AuthToken, IdTokenError>
    /** The token for a target. */
    readonly token: {
      (target: AccessTarget): Effect.Effect<AuthToken, AccessTokenError>
      (target: TokenTarget): Effect.Effect<AuthToken, IdTokenError>
    }
    /**
     * The headers for a target if a usable token is cached, else `undefined`: a
     * synchronous read for Promise bridges (`AuthClient`, the signing fetch) that skips
     * the fiber a miss needs.
     */
    readonly unsafeCachedHeaders: (target: TokenTarget) => AuthHeaders | undefined
    /** The request headers for a target. */
    readonly headers: {
      (target: AccessTarget): Effect.Effect<AuthHeaders, AccessTokenError>
      (target: TokenTarget): Effect.Effect<AuthHeaders, IdTokenError>
    }
    /**
     * Drops the cached token for a target after a server rejected it; the next call
     * fetches a new one. Pass the rejected token so that a newer one is kept.
     */
    readonly invalidate: (target: TokenTarget, rejected?: AuthToken) => Effect.Effect<void>
  }
}

/**
 * Options of the service. Explicit options beat the environment.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** A credential JSON object (any type ADC reads); it holds secrets, so pass it `Redacted`. */
  readonly credentials?: Redacted.Redacted<Record<string, unknown>> | undefined
  /** Path to a credential file; beats GOOGLE_APPLICATION_CREDENTIALS. */
  readonly keyFile?: string | undefined
  /** The project id; saves google-auth-library's slow `gcloud` lookup. */
  readonly projectId?: string | undefined
  /** Default `x-goog-user-project` for access targets that name none. */
  readonly quotaProject?: string | undefined
  /** Default scopes of access tokens for targets that name none. Default cloud-platform. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /**
   * Options for every google-auth-library client (for example `transporterOptions` to
   * route through a proxy, or to the `effect-adc/testing` emulator).
   */
  readonly clientOptions?: Record<string, unknown> | undefined
  /** Bound on credential detection. Default 10 seconds. */
  readonly detectTimeout?: Duration.DurationInput | undefined
  /** Bound on one token request. Default 30 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Token cache tuning (margin, refresh lead, idle timeout, entry bound, retry delays). */
  readonly cache?: TokenCache.Options | undefined
}

/**
 * Options of {@link make} and {@link layerSource}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface MakeOptions {
  readonly quotaProject?: string | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly cache?: TokenCache.Options | undefined
}

/**
 * Builds the service over a credential source, with a token cache that lives as long as
 * the current scope. A warm call is one map lookup and a clock read, in one step.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  source: CredentialSource,
  options: MakeOptions = {}
): Effect.Effect<AuthService.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const cache = yield* TokenCache.make<IdTokenError>(options.cache)
    const defaultScopes = normalizeScopes(options.scopes)
    const defaultAccessKey = cacheKey({ kind: "access", scopes: defaultScopes })
    const scopesOf = (target: AccessTarget) =>
      target.scopes === undefined || target.scopes.length === 0 ? defaultScopes : normalizeScopes(target.scopes)
    /** The cache key of an access target; the common target (no scopes, no quota project) allocates nothing. */
    const accessKey = (target: AccessTarget): string =>
      target.scopes === undefined && target.quotaProject === undefined
        ? defaultAccessKey
        : cacheKey({ ...target, scopes: scopesOf(target) })
    const defaultQuotaProject = options.quotaProject ?? source.identity.quotaProject
    /** Audiences already checked (bounded: cleared when it grows past 4096). */
    const checkedAudiences = new Set<string>()
    /** Header records per token and variant, built once per token (tokens are immutable). */
    const records = new WeakMap<AuthToken, Map<string, AuthHeaders>>()
    const recordFor = (token: AuthToken, variant: string, build: (bearer: string) => AuthHeaders): AuthHeaders => {
      let byVariant = records.get(token)
      if (byVariant === undefined) {
        byVariant = new Map()
        records.set(token, byVariant)
      }
      let record = byVariant.get(variant)
      if (record === undefined) {
        record = Object.freeze(build(`Bearer ${Redacted.value(token.value)}`))
        byVariant.set(variant, record)
      }
      return record
    }

    // After the scope closed every call fails at once (the cache's own check covers the
    // calls already waiting). Added after the cache's finalizer, so it runs first.
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
      })
    )
    /** Names the endpoint in TokenTooShortLived (the cache does not know it). */
    const withEndpoint = (endpoint: TokenEndpoint | undefined) => (error: IdTokenError): IdTokenError =>
      error instanceof TokenTooShortLived && error.endpoint === undefined && endpoint !== undefined
        ? new TokenTooShortLived({ ...error, endpoint })
        : error

    const accessFor = (target: AccessTarget): Effect.Effect<AuthToken, AccessTokenError> =>
      closed
        ? Effect.fail(new AuthServiceClosed({ operation: "AuthService.accessToken" }))
        : cache.get(accessKey(target), () => source.fetchAccessToken(scopesOf(target))).pipe(
          Effect.mapError(withEndpoint(source.endpoints?.access))
        ) as Effect.Effect<AuthToken, AccessTokenError>

    const idFor = (audience: string): Effect.Effect<AuthToken, IdTokenError> => {
      if (closed) return Effect.fail(new AuthServiceClosed({ operation: "AuthService.idToken" }))
      if (!checkedAudiences.has(audience)) {
        const detail = audienceProblem(audience)
        if (detail !== undefined) return Effect.fail(new InvalidAudience({ audience, detail }))
        if (checkedAudiences.size >= 4096) checkedAudiences.clear()
        checkedAudiences.add(audience)
      }
      return cache.get(cacheKey({ kind: "id", audience }), () => source.fetchIdToken(audience)).pipe(
        Effect.mapError(withEndpoint(source.endpoints?.id))
      )
    }

    const token = ((target: TokenTarget) =>
      target.kind === "access" ? accessFor(target) : idFor(target.audience)) as AuthService.Service["token"]

    const headersOf = (target: TokenTarget) =>
    (token: AuthToken): AuthHeaders => {
      if (target.kind === "id") {
        return target.header === "X-Serverless-Authorization"
          ? recordFor(token, "x-serverless-authorization", (b) => ({ "x-serverless-authorization": b }))
          : recordFor(token, "authorization", (b) => ({ authorization: b }))
      }
      const quotaProject = target.quotaProject ?? defaultQuotaProject
      return quotaProject === undefined
        ? recordFor(token, "authorization", (b) => ({ authorization: b }))
        : recordFor(token, `quota:${quotaProject}`, (b) => ({ authorization: b, "x-goog-user-project": quotaProject }))
    }

    const unsafeCachedHeaders = (target: TokenTarget): AuthHeaders | undefined => {
      const cached = cache.peek(target.kind === "access" ? accessKey(target) : cacheKey(target))
      return cached === undefined ? undefined : headersOf(target)(cached)
    }

    const headersFor = (target: TokenTarget): Effect.Effect<AuthHeaders, IdTokenError> =>
      Effect.suspend(() => {
        // Warm path: one lookup, no fetch effect built.
        const cached = unsafeCachedHeaders(target)
        return cached !== undefined ? Effect.succeed(cached) : Effect.map(token(target), headersOf(target))
      })

    return AuthService.of({
      identity: source.identity,
      accessToken: (request) => accessFor({ kind: "access", scopes: request?.scopes }),
      idToken: idFor,
      token,
      headers: headersFor as AuthService.Service["headers"],
      unsafeCachedHeaders,
      invalidate: (target, rejected) =>
        cache.invalidate(target.kind === "access" ? accessKey(target) : cacheKey(target), rejected)
    })
  })

/**
 * The service from Application Default Credentials, resolved when the layer is built
 * (bounded by `detectTimeout`): a credential file from any option is read and checked
 * then (`CredentialsInvalid` names the field at fault), and the metadata server is
 * probed afresh on every build. Tokens come from google-auth-library's client for the
 * credential's type, or from our own abortable metadata client.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<AuthService, DetectError> =>
  Layer.scoped(
    AuthService,
    Effect.gen(function*() {
      const source = yield* detect({
        credentials: options.credentials === undefined ? undefined : Redacted.value(options.credentials),
        keyFile: options.keyFile,
        projectId: options.projectId,
        clientOptions: options.clientOptions,
        detectTimeout: Duration.decode(options.detectTimeout ?? Duration.seconds(10)),
        requestTimeout: Duration.decode(options.requestTimeout ?? Duration.seconds(30))
      })
      return yield* make(source, { quotaProject: options.quotaProject, scopes: options.scopes, cache: options.cache })
    })
  )

/**
 * The service over a credential source of your own (tests, custom token brokers).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSource = (source: CredentialSource, options: MakeOptions = {}): Layer.Layer<AuthService> =>
  Layer.scoped(AuthService, make(source, options))

/**
 * The options read from the environment (every variable optional):
 *
 * | variable | option |
 * | --- | --- |
 * | `GOOGLE_CLOUD_PROJECT` | `projectId` |
 * | `EFFECT_ADC_KEY_FILE` | `keyFile` (else `GOOGLE_APPLICATION_CREDENTIALS`, read by ADC) |
 * | `EFFECT_ADC_QUOTA_PROJECT` | `quotaProject` |
 * | `EFFECT_ADC_DETECT_TIMEOUT` | `detectTimeout` |
 * | `EFFECT_ADC_REQUEST_TIMEOUT` | `requestTimeout` |
 * | `EFFECT_ADC_TOKEN_MARGIN` | `cache.margin` |
 * | `EFFECT_ADC_REFRESH_AHEAD` | `cache.refreshAhead` |
 * | `EFFECT_ADC_IDLE_TIMEOUT` | `cache.idleTimeout` |
 * | `EFFECT_ADC_MAX_ENTRIES` | `cache.maxEntries` |
 * | `EFFECT_ADC_MIN_TOKEN_LIFETIME` | `cache.minLifetime` |
 *
 * @since 0.1.0
 * @category Config
 */
export const config: Config.Config<Options> = Config.all({
  projectId: Config.option(Config.nonEmptyString("GOOGLE_CLOUD_PROJECT")),
  keyFile: Config.option(Config.nonEmptyString("EFFECT_ADC_KEY_FILE")),
  quotaProject: Config.option(Config.nonEmptyString("EFFECT_ADC_QUOTA_PROJECT")),
  detectTimeout: Config.option(Config.duration("EFFECT_ADC_DETECT_TIMEOUT")),
  requestTimeout: Config.option(Config.duration("EFFECT_ADC_REQUEST_TIMEOUT")),
  margin: Config.option(Config.duration("EFFECT_ADC_TOKEN_MARGIN")),
  refreshAhead: Config.option(Config.duration("EFFECT_ADC_REFRESH_AHEAD")),
  idleTimeout: Config.option(Config.duration("EFFECT_ADC_IDLE_TIMEOUT")),
  maxEntries: Config.option(
    Config.integer("EFFECT_ADC_MAX_ENTRIES").pipe(
      Config.validate({ message: "must be a positive integer", validation: (n) => n > 0 })
    )
  ),
  minLifetime: Config.option(Config.duration("EFFECT_ADC_MIN_TOKEN_LIFETIME"))
}).pipe(Config.map((c) => ({
  projectId: Option.getOrUndefined(c.projectId),
  keyFile: Option.getOrUndefined(c.keyFile),
  quotaProject: Option.getOrUndefined(c.quotaProject),
  detectTimeout: Option.getOrUndefined(c.detectTimeout),
  requestTimeout: Option.getOrUndefined(c.requestTimeout),
  cache: {
    margin: Option.getOrUndefined(c.margin),
    refreshAhead: Option.getOrUndefined(c.refreshAhead),
    idleTimeout: Option.getOrUndefined(c.idleTimeout),
    maxEntries: Option.getOrUndefined(c.maxEntries),
    minLifetime: Option.getOrUndefined(c.minLifetime)
  }
})))

/**
 * The service configured from the environment (see {@link config}); `overrides` beat it.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  overrides: Options = {}
): Layer.Layer<AuthService, DetectError | AuthConfigInvalid> =>
  Layer.unwrapEffect(
    config.pipe(
      Effect.mapError((error) => new AuthConfigInvalid({ detail: String(error) })),
      Effect.map((fromEnv) =>
        layer({
          ...fromEnv,
          ...definedOnly(overrides),
          cache: { ...fromEnv.cache, ...definedOnly(overrides.cache ?? {}) }
        })
      )
    )
  )

const definedOnly = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>
