/**
 * `effect-adc doctor`: which ADC source was found and why, the principal and project,
 * whether access and ID tokens can be minted, the clock skew against the token issuer,
 * and the fix for each failure. Never prints a secret.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type AuthError, InvalidAudience } from "../auth/AuthError.js"
import * as AuthService from "../auth/AuthService.js"
import type { AuthToken } from "../auth/AuthToken.js"
import * as TokenTarget from "../auth/TokenTarget.js"

/**
 * One checked item.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

/**
 * The doctor's verdict: the checks, and the exit code (0 all good, 1 an invalid
 * `--audience`, checked before anything else, 2 no usable credentials, 3 a token could
 * not be minted).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Report {
  readonly checks: ReadonlyArray<Check>
  readonly exitCode: number
}

/** Seconds between the issuer's clock (the ID token's `iat`) and ours at receipt. */
const skewSeconds = (token: AuthToken, receivedAt: number): number | undefined => {
  const payload = Redacted.value(token.value).split(".")[1]
  if (payload === undefined) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iat?: unknown }
    return typeof claims.iat === "number" ? Math.round(claims.iat - receivedAt / 1000) : undefined
  } catch {
    return undefined
  }
}

const describeError = (error: AuthError) => error.message

/**
 * Runs every check against the AuthService layer it is given.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const diagnose = <E extends AuthError>(
  layer: Layer.Layer<AuthService.AuthService, E>,
  options: { readonly audience: string }
): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const checks: Array<Check> = []
    // The configuration first: a bad --audience is a usage error (exit 1), reported
    // without asking ADC for anything.
    const audienceProblem = TokenTarget.audienceProblem(options.audience)
    if (audienceProblem !== undefined) {
      const error = new InvalidAudience({ audience: options.audience, detail: audienceProblem })
      checks.push({ name: "audience", ok: false, detail: error.message })
      return { checks, exitCode: 1 }
    }
    const built = yield* Effect.either(Effect.scoped(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const identity = auth.identity
        checks.push({ name: "ADC source", ok: true, detail: `${identity.source} (found through ${identity.origin})` })
        checks.push({
          name: "principal",
          ok: identity.principal !== undefined,
          detail: identity.principal ?? "unknown (gcloud user credentials do not name the user until a token is minted)"
        })
        checks.push({
          name: "project",
          ok: identity.projectId !== undefined,
          detail: identity.projectId ?? "unknown: set GOOGLE_CLOUD_PROJECT (it also avoids a slow gcloud lookup)"
        })
        if (identity.quotaProject !== undefined) {
          checks.push({ name: "quota project", ok: true, detail: identity.quotaProject })
        }

        const access = yield* Effect.either(auth.accessToken())
        checks.push(Either.match(access, {
          onLeft: (error) => ({ name: "access token", ok: false, detail: describeError(error) }),
          onRight: (token) => ({
            name: "access token",
            ok: true,
            detail: `minted, valid for ${Math.round((token.expiresAt - Date.now()) / 1000)} s`
          })
        }))

        const receivedAt = Date.now()
        const id = yield* Effect.either(auth.idToken(options.audience))
        checks.push(Either.match(id, {
          onLeft: (error) => ({ name: "ID token", ok: false, detail: describeError(error) }),
          onRight: (token) => ({
            name: "ID token",
            ok: true,
            detail: identity.idTokens.audience === "oauth-client"
              ? `minted; its audience is the OAuth client ${identity.idTokens.clientId}, not ${options.audience} ` +
                "(Cloud Run accepts it for users with roles/run.invoker; impersonate a service account for a " +
                "URL audience)"
              : `minted for ${options.audience}, valid for ${Math.round((token.expiresAt - Date.now()) / 1000)} s`
          })
        }))
        if (Either.isRight(id)) {
          const skew = skewSeconds(id.right, receivedAt)
          if (skew !== undefined) {
            checks.push({
              name: "clock skew",
              ok: Math.abs(skew) <= 60,
              detail: Math.abs(skew) <= 60
                ? `${skew} s against the token issuer`
                : `${skew} s against the token issuer: sync this machine's clock (NTP); tokens may look expired`
            })
          }
        }
        return Either.isLeft(access) || Either.isLeft(id) ? 3 : 0
      }).pipe(Effect.provide(layer))
    ))
    if (Either.isLeft(built)) {
      checks.push({ name: "ADC source", ok: false, detail: describeError(built.left) })
      return { checks, exitCode: 2 }
    }
    return { checks, exitCode: built.right }
  })

/**
 * Prints a report, one line per check.
 *
 * @since 0.1.0
 * @category Printing
 */
export const print = (report: Report) =>
  Effect.forEach(report.checks, (check) => Console.log(`${check.ok ? "✓" : "✗"} ${check.name}: ${check.detail}`), {
    discard: true
  })
