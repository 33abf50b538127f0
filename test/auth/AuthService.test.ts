import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { createRemoteJWKSet, jwtVerify } from "jose"
import * as AuthService from "../../src/auth/AuthService.js"
import { useEmulator } from "../support/emulator.js"

// Every credential source, both token kinds, through google-auth-library against the
// loopback emulator. The emulator's environment (metadata host, empty gcloud config,
// project) is set for this file's process only (vitest runs each file in a fork).

const emulator = useEmulator({ env: true })

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>

const verify = async (jwt: string, audience: string) => {
  const jwks = createRemoteJWKSet(new URL(emulator.jwksUrl))
  const { payload } = await jwtVerify(jwt, jwks, { issuer: emulator.issuer, audience })
  return payload
}

const layerFor = (options: AuthService.Options = {}) =>
  AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions, ...options })

const run = <A, E>(effect: Effect.Effect<A, E, AuthService.AuthService>, options?: AuthService.Options) =>
  Effect.runPromise(Effect.scoped(Effect.provide(effect, layerFor(options))))

const audience = "https://gemma-abc123-uc.a.run.app"

/** The identity and one token of each kind, from a credential file. */
const bothKinds = (keyFile: string) =>
  run(
    Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      return { identity: auth.identity, access: yield* auth.accessToken(), id: yield* auth.idToken(audience) }
    }),
    { keyFile }
  )

describe("AuthService sources", () => {
  it("metadata server: identity, access token, ID token with the audience URL-encoded", async () => {
    const odd = "https://svc.example.com/path?x=1&y=2"
    const result = await run(Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      const access = yield* auth.accessToken()
      const id = yield* auth.idToken(odd)
      return { identity: auth.identity, access, id }
    }))
    expect(result.identity.source).toBe("metadata")
    expect(result.identity.principal).toBe(emulator.serviceAccount.email)
    expect(result.identity.projectId).toBe(emulator.projectId)
    expect(Redacted.value(result.access.value)).toMatch(/^ya29\./)
    expect(result.access.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000)
    const payload = await verify(Redacted.value(result.id.value), odd)
    expect(payload["email"]).toBe(emulator.serviceAccount.email)
    expect(result.id.expiresAt).toBe((payload.exp ?? 0) * 1000)
  })

  it("service-account key file: both kinds", async () => {
    const keyFile = await emulator.credentials.writeServiceAccountKey()
    const result = await bothKinds(keyFile)
    expect(result.identity.source).toBe("service_account")
    expect(result.identity.origin).toContain(keyFile)
    expect(result.identity.principal).toBe(emulator.serviceAccount.email)
    expect(Redacted.value(result.access.value)).toMatch(/^ya29\./)
    const payload = await verify(Redacted.value(result.id.value), audience)
    expect(payload["email"]).toBe(emulator.serviceAccount.email)
  })

  it("authorized_user (gcloud): access token, and the refresh response's id_token for the OAuth client", async () => {
    const keyFile = await emulator.credentials.writeAuthorizedUser()
    const result = await bothKinds(keyFile)
    expect(result.identity.source).toBe("authorized_user")
    expect(result.identity.idTokens).toEqual({ audience: "oauth-client", clientId: emulator.user.clientId })
    expect(Redacted.value(result.access.value)).toMatch(/^ya29\./)
    const payload = await verify(Redacted.value(result.id.value), emulator.user.clientId)
    expect(payload["email"]).toBe(emulator.user.email)
  })

  it("impersonated_service_account: IAM generateIdToken and generateAccessToken", async () => {
    const keyFile = await emulator.credentials.writeImpersonated({ source: "authorized_user" })
    const result = await bothKinds(keyFile)
    expect(result.identity.source).toBe("impersonated")
    expect(result.identity.principal).toBe(emulator.impersonationTarget.email)
    expect(Redacted.value(result.access.value)).toMatch(/^ya29\./)
    const payload = await verify(Redacted.value(result.id.value), audience)
    expect(payload["email"]).toBe(emulator.impersonationTarget.email)
    expect(emulator.controls.count("iam.generateIdToken")).toBeGreaterThan(0)
  })

  it("external_account with impersonation: ID tokens through generateIdToken with the federated token", async () => {
    const keyFile = await emulator.credentials.writeExternalAccount({ impersonate: true })
    const result = await bothKinds(keyFile)
    expect(result.identity.source).toBe("external_account")
    expect(result.identity.principal).toBe(emulator.impersonationTarget.email)
    expect(Redacted.value(result.access.value)).toMatch(/^ya29\./)
    const payload = await verify(Redacted.value(result.id.value), audience)
    expect(payload["email"]).toBe(emulator.impersonationTarget.email)
  })

  it("external_account without impersonation: access tokens work, ID tokens fail with the fix", async () => {
    const keyFile = await emulator.credentials.writeExternalAccount({ impersonate: false })
    const result = await run(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const access = yield* auth.accessToken()
        const id = yield* Effect.flip(auth.idToken(audience))
        return { identity: auth.identity, access, id }
      }),
      { keyFile }
    )
    expect(Redacted.value(result.access.value).length).toBeGreaterThan(10)
    expect(result.identity.idTokens.audience).toBe("unsupported")
    expect(result.id._tag).toBe("IdTokenUnsupported")
    expect(result.id.message).toContain("service_account_impersonation_url")
  })
})

describe("AuthService behaviour on the wire", () => {
  it("1000 concurrent cold callers cause one identity fetch per audience", async () => {
    emulator.controls.reset()
    emulator.controls.setLatency("metadata.identity", 50)
    try {
      const tokens = await run(Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        return yield* Effect.all(
          Array.from({ length: 1000 }, (_, i) => auth.idToken(i % 2 === 0 ? audience : `${audience}/b`)),
          { concurrency: "unbounded" }
        )
      }))
      expect(emulator.controls.count("metadata.identity")).toBe(2)
      expect(new Set(tokens.map((t) => Redacted.value(t.value))).size).toBe(2)
    } finally {
      emulator.controls.reset()
    }
  })

  it("the scopes option is the default for access tokens; explicit scopes get their own entry", async () => {
    const genai = "https://www.googleapis.com/auth/generative-language"
    await run(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        yield* auth.accessToken()
        yield* auth.headers({ kind: "access" })
        yield* auth.accessToken({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] })
      }),
      { scopes: [genai] }
    )
    const scopes = emulator.controls.log.filter((l) => l.endpoint === "metadata.token")
      .map((l) => l.detail?.replace(" (reused)", ""))
    expect(scopes).toEqual([`scopes=${genai}`, "scopes=https://www.googleapis.com/auth/cloud-platform"])
  })

  it("headers: Authorization, X-Serverless-Authorization and x-goog-user-project", async () => {
    const headers = await run(Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      return {
        access: yield* auth.headers({ kind: "access", quotaProject: "billing-project" }),
        id: yield* auth.headers({ kind: "id", audience }),
        serverless: yield* auth.headers({ kind: "id", audience, header: "X-Serverless-Authorization" })
      }
    }))
    expect(Object.keys(headers.access).sort()).toEqual(["authorization", "x-goog-user-project"])
    expect(headers.access["x-goog-user-project"]).toBe("billing-project")
    expect(headers.access["authorization"]).toMatch(/^Bearer ya29\./)
    expect(headers.id["authorization"]).toMatch(/^Bearer eyJ/)
    expect(Object.keys(headers.serverless)).toEqual(["x-serverless-authorization"])
    expect(headers.serverless["x-serverless-authorization"]).toBe(headers.id["authorization"])
  })

  it("the Cloud Run front door accepts the ID token; invalidate gets a fresh one", async () => {
    const service = await emulator.cloudRun.deploy({
      name: "echo",
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("hello")
      }
    })
    try {
      emulator.controls.reset()
      const [fetchesBefore, second] = await run(Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const target = { kind: "id", audience: service.url } as const
        const token = yield* auth.token(target)
        const cached = yield* auth.token(target)
        expect(cached).toBe(token)
        const before = emulator.controls.count("metadata.identity")
        yield* auth.invalidate(target, token)
        return [before, yield* auth.token(target)] as const
      }))
      expect(fetchesBefore).toBe(1)
      expect(emulator.controls.count("metadata.identity")).toBe(2)
      const response = await fetch(service.url, {
        headers: { authorization: `Bearer ${Redacted.value(second.value)}` }
      })
      expect(response.status).toBe(200)
      expect(await response.text()).toBe("hello")
    } finally {
      await service.close()
    }
  })

  it("refreshes in the background with short-lived tokens (real time)", async () => {
    emulator.controls.reset()
    emulator.controls.setTokenLifetime(3)
    try {
      const seen = await run(
        Effect.gen(function*() {
          const auth = yield* AuthService.AuthService
          const values = new Set<string>()
          const first = yield* auth.idToken(audience)
          values.add(Redacted.value(first.value))
          const fetchesAfterWarmUp = emulator.controls.count("metadata.identity")
          // Let the refresh fiber run on its own: nobody asks for a token meanwhile.
          yield* Effect.sleep("3500 millis")
          const refreshedInBackground = emulator.controls.count("metadata.identity") - fetchesAfterWarmUp
          const later = yield* auth.idToken(audience)
          values.add(Redacted.value(later.value))
          return { values, refreshedInBackground, remaining: later.expiresAt - Date.now() }
        }),
        { cache: { margin: "500 millis", refreshAhead: "1500 millis", retryInitial: "100 millis" } }
      )
      expect(seen.refreshedInBackground).toBeGreaterThanOrEqual(2)
      expect(seen.values.size).toBe(2)
      expect(seen.remaining).toBeGreaterThan(500)
    } finally {
      emulator.controls.reset()
      emulator.controls.setTokenLifetime(3600)
    }
  })
})

describe("AuthService errors", () => {
  it("no ADC: a typed CredentialsNotFound that says how to log in", async () => {
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(AuthService.layer({
      projectId: "p",
      keyFile: "/nonexistent/credentials.json",
      detectTimeout: "5 seconds"
    }))))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
      expect(exit.cause.error._tag).toBe("CredentialsInvalid")
      expect(exit.cause.error.message).toContain("/nonexistent/credentials.json")
    }
  })

  it("a revoked refresh token: TokenRequestRejected with Google's code, and no secret in the message", async () => {
    const keyFile = await emulator.credentials.writeAuthorizedUser()
    const fs = await import("node:fs/promises")
    const json = JSON.parse(await fs.readFile(keyFile, "utf8")) as Record<string, unknown>
    const secret = "1//0revoked-refresh-token-that-must-never-be-printed"
    const error = await run(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        return yield* Effect.flip(auth.accessToken())
      }),
      { keyFile: undefined, credentials: Redacted.make({ ...json, refresh_token: secret }) }
    )
    expect(error._tag).toBe("TokenRequestRejected")
    if (error._tag === "TokenRequestRejected") {
      expect(error.code).toBe("invalid_grant")
      expect(error.status).toBe(400)
    }
    expect(error.message).toContain("gcloud auth application-default login")
    expect(error.message).not.toContain(secret)
    expect(JSON.stringify(error)).not.toContain(secret)
    expect(String(json["client_secret"]).length).toBeGreaterThan(0)
    expect(error.message).not.toContain(String(json["client_secret"]))
  })

  it("an invalid audience fails before any request", async () => {
    emulator.controls.reset()
    const error = await run(Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      return yield* Effect.flip(auth.idToken("ftp://not-an-audience"))
    }))
    expect(error._tag).toBe("InvalidAudience")
    expect(emulator.controls.count("metadata.identity")).toBe(0)
  })

  it("metadata server down: typed TokenEndpointUnreachable, then recovery when it is back", async () => {
    emulator.controls.reset()
    const result = await run(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        emulator.controls.fail("metadata.identity", { kind: "close" })
        const failed = yield* Effect.flip(auth.idToken(`${audience}/down`))
        emulator.controls.clearFailures()
        // Until the cache's next backoff step (retryInitial) callers get the failure at
        // once; a caller that retries after it gets a token.
        const recovered = yield* auth.idToken(`${audience}/down`).pipe(
          Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 10 })
        )
        return { failed, recovered }
      }),
      { cache: { retryInitial: "50 millis" }, requestTimeout: "5 seconds" }
    )
    expect(["TokenEndpointUnreachable", "TokenResponseInvalid"]).toContain(result.failed._tag)
    expect(result.failed.message).toContain("metadata server")
    expect(claimsOf(Redacted.value(result.recovered.value))["aud"]).toBe(`${audience}/down`)
  })
})

describe("project of a gcloud user without GOOGLE_CLOUD_PROJECT", () => {
  it("comes from gcloud's active configuration files (no gcloud process), before the file's quota project", async () => {
    const fs = await import("node:fs/promises")
    const os = await import("node:os")
    const path = await import("node:path")
    const keyFile = await emulator.credentials.writeAuthorizedUser()
    const config = await fs.mkdtemp(path.join(os.tmpdir(), "gcloud-config-"))
    await fs.mkdir(path.join(config, "configurations"))
    await fs.writeFile(path.join(config, "active_config"), "work\n")
    await fs.writeFile(path.join(config, "configurations", "config_default"), "[core]\nproject = not-the-active-one\n")
    await fs.writeFile(
      path.join(config, "configurations", "config_work"),
      "[auth]\naccount = a@b.c\n[core]\naccount = a@b.c\nproject = from-gcloud-config\n"
    )
    const saved = { project: process.env["GOOGLE_CLOUD_PROJECT"], config: process.env["CLOUDSDK_CONFIG"] }
    process.env["GOOGLE_CLOUD_PROJECT"] = ""
    process.env["CLOUDSDK_CONFIG"] = config
    try {
      const identity = await Effect.runPromise(Effect.scoped(Effect.map(
        Layer.build(AuthService.layer({ keyFile, clientOptions: emulator.clientOptions })),
        (context) => Context.get(context, AuthService.AuthService).identity
      )))
      expect(identity.projectId).toBe("from-gcloud-config")
    } finally {
      for (
        const [name, value] of [["GOOGLE_CLOUD_PROJECT", saved.project], ["CLOUDSDK_CONFIG", saved.config]] as const
      ) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      await fs.rm(config, { recursive: true })
    }
  })
})
