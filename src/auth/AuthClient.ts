/**
 * AuthService for plain TypeScript: Promises instead of Effects, on one
 * `ManagedRuntime` per instance built from the same layers (the shared Promise bridge).
 * A warm `headers` call is answered from the cache without starting a fiber. Every call
 * takes an optional `AbortSignal`; `close()` interrupts the calls in flight. Failures
 * reject with the tagged error itself (a tagged error is an `Error`).
 *
 * @example
 * ```ts
 * import { AuthClient } from "effect-adc/auth"
 *
 * const auth = AuthClient.make({ projectId: "my-project" })
 * const headers = await auth.headers(
 *   { kind: "id", audience: "https://gemma-abc-uc.a.run.app" },
 *   { signal: AbortSignal.timeout(10_000) }
 * )
 * await auth.close()
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as PromiseBridge from "../internal/promiseBridge.js"
import type { AuthError, DetectError } from "./AuthError.js"
import * as AuthService from "./AuthService.js"
import type { AuthToken } from "./AuthToken.js"
import type { Identity } from "./CredentialSource.js"
import type { TokenTarget } from "./TokenTarget.js"

/**
 * Options of every call: an `AbortSignal` that interrupts it (its request is aborted
 * and its socket closed; the Promise rejects with `CallAborted`).
 *
 * @since 0.2.0
 * @category Models
 */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined
}

/**
 * The Promise facade. Failures reject with the tagged error itself: an `AuthError`, or
 * `CallAborted` / `ClientClosed` (effect-adc's `ClientError`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface AuthClient {
  /** The ADC source (resolves once detection ran; rejects with `CredentialsNotFound` / `CredentialsInvalid`). */
  readonly identity: (options?: CallOptions) => Promise<Identity>
  readonly accessToken: (
    options?: { readonly scopes?: ReadonlyArray<string> | undefined } & CallOptions
  ) => Promise<AuthToken>
  readonly idToken: (audience: string, options?: CallOptions) => Promise<AuthToken>
  readonly headers: (target: TokenTarget, options?: CallOptions) => Promise<AuthService.AuthHeaders>
  readonly invalidate: (target: TokenTarget, rejected?: AuthToken, options?: CallOptions) => Promise<void>
  /**
   * Interrupts every call in flight (each rejects with `ClientClosed`, its request
   * aborted), then stops every refresh fiber. Later calls reject with `ClientClosed`.
   */
  readonly close: () => Promise<void>
  /** The runtime behind it, to run Effects against the same cache. */
  readonly runtime: ManagedRuntime.ManagedRuntime<AuthService.AuthService, DetectError | AuthError>
}

/**
 * A facade over any AuthService layer (for example `AuthService.layerConfig()`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromLayer = (
  layer: Layer.Layer<AuthService.AuthService, DetectError | AuthError>
): AuthClient => {
  const bridge = PromiseBridge.make(layer)
  let service: AuthService.AuthService.Service | undefined
  let closed = false
  const withService = <A>(
    operation: string,
    f: (s: AuthService.AuthService.Service) => Effect.Effect<A, AuthError>,
    options: CallOptions | undefined
  ) =>
    bridge.run(
      `AuthClient.${operation}`,
      Effect.flatMap(AuthService.AuthService, (s) => {
        service = s
        return f(s)
      }),
      { signal: options?.signal }
    )
  return {
    identity: (options) => withService("identity", (s) => Effect.succeed(s.identity), options),
    accessToken: (options) => withService("accessToken", (s) => s.accessToken(options), options),
    idToken: (audience, options) => withService("idToken", (s) => s.idToken(audience), options),
    headers: (target, options) => {
      // Warm path: answered from the cache without a fiber (unless aborted or closed).
      const cached = closed || options?.signal?.aborted === true ? undefined : service?.unsafeCachedHeaders(target)
      return cached !== undefined ? Promise.resolve(cached) : withService("headers", (s) => s.headers(target), options)
    },
    invalidate: (target, rejected, options) =>
      withService("invalidate", (s) => s.invalidate(target, rejected), options),
    close: () => {
      closed = true
      return bridge.dispose()
    },
    runtime: bridge.runtime
  }
}

/**
 * A facade over Application Default Credentials (`AuthService.layer(options)`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: AuthService.Options = {}): AuthClient => fromLayer(AuthService.layer(options))
