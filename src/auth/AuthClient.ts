/**
 * AuthService for plain TypeScript: Promises instead of Effects, on one
 * `ManagedRuntime` per instance built from the same layers. A warm `headers` call is
 * answered from the cache without starting a fiber. Failures reject with the tagged
 * error itself (a `Schema.TaggedError` is an `Error`).
 *
 * @example
 * ```ts
 * import { AuthClient } from "effect-adc/auth"
 *
 * const auth = AuthClient.make({ projectId: "my-project" })
 * const headers = await auth.headers({ kind: "id", audience: "https://gemma-abc-uc.a.run.app" })
 * await auth.close()
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { AuthError, DetectError } from "./AuthError.js"
import * as AuthService from "./AuthService.js"
import type { AuthToken } from "./AuthToken.js"
import type { Identity } from "./CredentialSource.js"
import type { TokenTarget } from "./TokenTarget.js"

/**
 * The Promise facade.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AuthClient {
  /** The ADC source (resolves once detection ran; rejects with `CredentialsNotFound` / `CredentialsInvalid`). */
  readonly identity: () => Promise<Identity>
  readonly accessToken: (options?: { readonly scopes?: ReadonlyArray<string> | undefined }) => Promise<AuthToken>
  readonly idToken: (audience: string) => Promise<AuthToken>
  readonly headers: (target: TokenTarget) => Promise<AuthService.AuthHeaders>
  readonly invalidate: (target: TokenTarget, rejected?: AuthToken) => Promise<void>
  /** Stops every refresh fiber. */
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
  const runtime = ManagedRuntime.make(layer)
  let service: AuthService.AuthService.Service | undefined
  const run = <A>(effect: Effect.Effect<A, AuthError, AuthService.AuthService>): Promise<A> =>
    runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      throw failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
    })
  const withService = <A>(f: (s: AuthService.AuthService.Service) => Effect.Effect<A, AuthError>) =>
    run(Effect.flatMap(AuthService.AuthService, (s) => {
      service = s
      return f(s)
    }))
  return {
    identity: () => withService((s) => Effect.succeed(s.identity)),
    accessToken: (options) => withService((s) => s.accessToken(options)),
    idToken: (audience) => withService((s) => s.idToken(audience)),
    headers: (target) => {
      const cached = service?.unsafeCachedHeaders(target)
      return cached !== undefined ? Promise.resolve(cached) : withService((s) => s.headers(target))
    },
    invalidate: (target, rejected) => withService((s) => s.invalidate(target, rejected)),
    close: () => runtime.dispose(),
    runtime
  }
}

/**
 * A facade over Application Default Credentials (`AuthService.layer(options)`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: AuthService.Options = {}): AuthClient => fromLayer(AuthService.layer(options))
