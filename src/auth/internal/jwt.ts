/** @internal */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type TokenEndpoint, TokenResponseInvalid } from "../AuthError.js"
import * as AuthToken from "../AuthToken.js"

/**
 * Reads the payload claims of a compact JWS without verifying it (the issuer is the
 * party we just fetched it from over TLS; we only need `exp`).
 *
 * @internal
 */
export const decodeClaims = (jwt: string): Option.Option<Record<string, unknown>> => {
  const parts = jwt.split(".")
  if (parts.length !== 3 || parts[1] === undefined || parts[1] === "") return Option.none()
  try {
    const json: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"))
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? Option.some(json as Record<string, unknown>)
      : Option.none()
  } catch {
    return Option.none()
  }
}

/**
 * The `exp` claim in epoch milliseconds, if the token has a numeric one.
 *
 * @internal
 */
export const expiryMillis = (jwt: string): Option.Option<number> =>
  decodeClaims(jwt).pipe(
    Option.flatMap((claims) =>
      typeof claims["exp"] === "number" && Number.isFinite(claims["exp"])
        ? Option.some(claims["exp"] * 1000)
        : Option.none()
    )
  )

/**
 * An ID token with its `exp` and `iat` (by the issuer's clock).
 *
 * @internal
 */
export const idTokenOf = (
  jwt: string,
  endpoint: TokenEndpoint
): Effect.Effect<AuthToken.AuthToken, TokenResponseInvalid> =>
  Option.match(expiryMillis(jwt), {
    onNone: () =>
      Effect.fail(new TokenResponseInvalid({ endpoint, detail: "the ID token is not a JWT with an exp claim" })),
    onSome: (expiresAt) => {
      const iat = Option.flatMap(
        decodeClaims(jwt),
        (claims) =>
          typeof claims["iat"] === "number" && Number.isFinite(claims["iat"])
            ? Option.some(claims["iat"] * 1000)
            : Option.none()
      )
      return Effect.succeed(AuthToken.make("id", jwt, expiresAt, Option.getOrUndefined(iat)))
    }
  })
