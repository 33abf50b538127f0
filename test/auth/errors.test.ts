import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import * as AuthError from "../../src/auth/AuthError.js"
import * as AuthErrorSchema from "../../src/auth/AuthErrorSchema.js"
import { fromLibraryError } from "../../src/auth/internal/googleErrors.js"
import * as TokenTarget from "../../src/auth/TokenTarget.js"
import { scrub } from "../../src/internal/scrub.js"

const fixture = (path: string) =>
  JSON.parse(readFileSync(new URL(`../../../shared/fixtures/${path}`, import.meta.url), "utf8")) as {
    status: number | null
    body: unknown
  }

/** What gaxios throws for an HTTP error: the response with status and (string or parsed) data. */
const gaxiosError = (status: number, data: unknown) =>
  Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, data } })

describe("translating Google's token errors (recorded bodies)", () => {
  const cases: ReadonlyArray<[string, number, string, string]> = [
    ["oauth/error-invalid-grant-invalid-jwt-signature.json", 400, "invalid_grant", "Invalid JWT Signature."],
    ["oauth/error-invalid-grant-expired-or-revoked.json", 400, "invalid_grant", "Token has been expired or revoked."],
    ["oauth/error-invalid-grant-jwt-timeframe-legacy.json", 400, "invalid_grant", "Invalid JWT: Token must be"],
    ["oauth/error-invalid-client-not-found-401.json", 401, "invalid_client", "The OAuth client was not found."],
    ["oauth/error-invalid-client-legacy-401.json", 401, "invalid_client", ""],
    ["oauth/iam-generate-access-token-error-403.json", 403, "PERMISSION_DENIED", "iam.serviceAccounts.getAccessToken"]
  ]
  for (const [file, defaultStatus, code, description] of cases) {
    it(file, () => {
      const recorded = fixture(file)
      const status = recorded.status ?? defaultStatus
      const error = fromLibraryError("oauth", gaxiosError(status, recorded.body))
      expect(error._tag).toBe("TokenRequestRejected")
      if (error._tag !== "TokenRequestRejected") return
      expect(error.code).toBe(code)
      expect(error.status).toBe(status)
      expect(error.description).toContain(description)
      expect(error.message).toContain(code)
    })
  }

  it("the metadata server's text/plain 403 keeps its text", () => {
    const recorded = fixture("metadata/error-403-missing-metadata-flavor-gke.json")
    const error = fromLibraryError("metadata", gaxiosError(403, recorded.body))
    expect(error._tag).toBe("TokenRequestRejected")
    if (error._tag === "TokenRequestRejected") {
      expect(error.code).toBe("HTTP_403")
      expect(error.description).toContain("Missing required header")
    }
  })

  it("5xx and connection failures are TokenEndpointUnreachable", () => {
    expect(fromLibraryError("metadata", gaxiosError(503, "busy"))._tag).toBe("TokenEndpointUnreachable")
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const error = fromLibraryError("metadata", refused)
    expect(error._tag).toBe("TokenEndpointUnreachable")
    expect(error.message).toContain("metadata server")
  })

  it("never keeps a token, refresh token, assertion or key in an error", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    const body = {
      error: "invalid_request",
      error_description:
        `bad assertion=${jwt} with ya29.a0AfH6SMBsecret and refresh_token=1//0gsecretsecretsecretsecret`
    }
    const error = fromLibraryError("oauth", gaxiosError(400, body))
    for (const secret of [jwt, "ya29.a0AfH6SMBsecret", "1//0gsecretsecretsecretsecret"]) {
      expect(error.message).not.toContain(secret)
      expect(JSON.stringify(error)).not.toContain(secret)
    }
    expect(scrub("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----")).toBe("<redacted>")
    expect(scrub("Authorization: Bearer abc.def")).toBe("Authorization: Bearer <redacted>")
  })

  it("every error is recognised by the guard and is an Error", () => {
    const errors = [
      new AuthError.CredentialsNotFound({ reason: "NotFound", detail: "x" }),
      new AuthError.IdTokenUnsupported({ credentialType: "external_account", detail: "x" }),
      new AuthError.TokenResponseInvalid({ endpoint: "oauth", detail: "x" })
    ]
    for (const error of errors) {
      expect(AuthError.isAuthError(error)).toBe(true)
      expect(error).toBeInstanceOf(Error)
    }
    expect(AuthError.isAuthError(new Error("x"))).toBe(false)
    expect(errors[0]?.message).toContain("gcloud auth application-default login")
  })
})

describe("TokenTarget", () => {
  it.effect("accepts https URLs, loopback http and custom audiences", () =>
    Effect.gen(function*() {
      for (
        const ok of [
          "https://svc-abc-uc.a.run.app",
          "http://127.0.0.1:8080",
          "my-custom-audience",
          "32555940559.apps.googleusercontent.com"
        ]
      ) {
        expect(yield* TokenTarget.validateAudience(ok)).toBe(ok)
      }
    }))

  it.effect("rejects empty, whitespace, non-https and malformed URLs with the reason", () =>
    Effect.gen(function*() {
      for (const bad of ["", "has space", "http://example.com", "ftp://x", "https://"]) {
        const error = yield* Effect.flip(TokenTarget.validateAudience(bad))
        expect(error._tag).toBe("InvalidAudience")
        expect(error.message).toContain("Cloud Run")
      }
    }))

  it("cache keys: sorted, de-duplicated scopes; default scope; audience", () => {
    expect(TokenTarget.cacheKey({ kind: "access", scopes: ["b", "a", "b"] }))
      .toBe(TokenTarget.cacheKey({ kind: "access", scopes: ["a", "b"] }))
    expect(TokenTarget.cacheKey({ kind: "access" }))
      .toBe(TokenTarget.cacheKey({ kind: "access", scopes: [TokenTarget.cloudPlatformScope] }))
    expect(TokenTarget.cacheKey({ kind: "access", quotaProject: "q" })).not.toBe(
      TokenTarget.cacheKey({ kind: "access" })
    )
    expect(TokenTarget.cacheKey({ kind: "id", audience: "a", header: "X-Serverless-Authorization" }))
      .toBe(TokenTarget.cacheKey({ kind: "id", audience: "a" }))
  })
})

describe("AuthErrorSchema: the auth errors as Schemas", () => {
  const errors: ReadonlyArray<AuthError.AuthError> = [
    new AuthError.AuthConfigInvalid({ detail: "d" }),
    new AuthError.CredentialsNotFound({ reason: "Timeout", detail: "d" }),
    new AuthError.CredentialsInvalid({ source: "s", detail: "d", field: "private_key" }),
    new AuthError.IdTokenUnsupported({ credentialType: "external_account", detail: "d" }),
    new AuthError.InvalidAudience({ audience: "a", detail: "d" }),
    new AuthError.TokenEndpointUnreachable({
      endpoint: "metadata",
      reason: "RateLimited",
      detail: "d",
      retryAfterMillis: 1500
    }),
    new AuthError.TokenRequestRejected({ endpoint: "iam", status: 403, code: "PERMISSION_DENIED", description: "x" }),
    new AuthError.TokenResponseInvalid({ endpoint: "sts", detail: "d" }),
    new AuthError.TokenTooShortLived({ kind: "access", remainingMillis: -5000, minimumMillis: 10_000 }),
    new AuthError.AuthServiceClosed({ operation: "accessToken" })
  ]
  it.each(errors.map((error) => [error._tag, error] as const))(
    "%s: encodes to its fields and decodes back",
    (_, error) => {
      const encoded = Schema.encodeSync(AuthErrorSchema.AuthError)(error)
      expect(encoded).toEqual(JSON.parse(JSON.stringify(error)))
      const decoded = Schema.decodeUnknownSync(AuthErrorSchema.AuthError)(JSON.parse(JSON.stringify(encoded)))
      expect(decoded).toBeInstanceOf(error.constructor)
      expect(Equal.equals(decoded, error)).toBe(true)
      expect(decoded.message).toBe(error.message)
      expect(AuthError.isAuthError(decoded)).toBe(true)
    }
  )

  it("rejects an unknown tag, an unknown endpoint and a missing field", () => {
    for (
      const bad of [
        { _tag: "Nope", detail: "d" },
        { _tag: "TokenResponseInvalid", endpoint: "elsewhere", detail: "d" },
        { _tag: "InvalidAudience", audience: "a" }
      ]
    ) {
      expect(Either.isLeft(Schema.decodeUnknownEither(AuthErrorSchema.AuthError)(bad))).toBe(true)
    }
  })
})
