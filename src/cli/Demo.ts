/**
 * `effect-adc demo`: the product on the embedded emulator, with no Google account. It
 * boots as if on Cloud Run (metadata server, no gcloud), shows the ADC source, mints an
 * access token and an ID token, calls a private Cloud Run service with the ID token,
 * and shows tokens refreshing in the background with short lifetimes.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as AuthService from "../auth/AuthService.js"
import * as TokenCache from "../auth/TokenCache.js"
import * as Emulator from "../testing/Emulator.js"

const step = (text: string) => Console.log(`\n▸ ${text}`)
const info = (text: string) => Console.log(`  ${text}`)

/** A short hash of a token: enough to see it change, nothing of the secret. */
const fingerprint = (value: Redacted.Redacted<string>) =>
  `sha256:${createHash("sha256").update(Redacted.value(value)).digest("hex").slice(0, 10)}`

/**
 * Runs the demo.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const demo = (options: { readonly lifetimeSeconds?: number } = {}) =>
  Effect.gen(function*() {
    const lifetime = options.lifetimeSeconds ?? 4
    const emulator = yield* Effect.acquireRelease(
      Effect.promise(() => Emulator.start({ tokenLifetimeSeconds: 3600 })),
      (e) => Effect.promise(() => e.close())
    )
    Object.assign(process.env, emulator.env)
    delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]

    yield* step("Booting as if on Cloud Run: a metadata server, no gcloud, no API key")
    yield* info(`metadata server at ${emulator.metadataHost}, project ${emulator.projectId}`)

    const service = yield* Effect.acquireRelease(
      Effect.promise(() =>
        emulator.cloudRun.deploy({
          name: "gemma",
          handler: (req, res) => {
            res.writeHead(200, { "content-type": "application/json" })
            res.end(JSON.stringify({ message: "hello from a private Cloud Run service", path: req.url }))
          }
        })
      ),
      (s) => Effect.promise(() => s.close())
    )

    const layer = AuthService.layer({
      projectId: emulator.projectId,
      clientOptions: emulator.clientOptions,
      cache: { margin: "1 second", refreshAhead: `${Math.max(1, Math.floor(lifetime / 2))} seconds` }
    })

    yield* Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      yield* step("Application Default Credentials")
      yield* info(`source:    ${auth.identity.source} (${auth.identity.origin})`)
      yield* info(`principal: ${auth.identity.principal ?? "unknown"}`)

      yield* step("An access token for Gemini / Google APIs (keyless)")
      const access = yield* auth.accessToken()
      yield* info(`${fingerprint(access.value)} valid until ${new Date(access.expiresAt).toISOString()}`)

      yield* step(`A Google-signed ID token for the private Cloud Run service ${service.url}`)
      const unauthenticated = yield* Effect.promise(() => fetch(service.url))
      yield* info(`without a token: HTTP ${unauthenticated.status}`)
      const headers = yield* auth.headers({ kind: "id", audience: service.url })
      const response = yield* Effect.promise(() => fetch(service.url, { headers }))
      yield* info(`with our ID token: HTTP ${response.status} ${yield* Effect.promise(() => response.text())}`)

      yield* step(`Background refresh: ${lifetime}-second tokens, nobody waits`)
      emulator.controls.setTokenLifetime(lifetime)
      yield* auth.invalidate({ kind: "id", audience: service.url })
      let last = ""
      for (let i = 0; i < 6; i++) {
        const waitsBefore = (yield* Metric.value(TokenCache.metrics.waits)).count
        const token = yield* auth.idToken(service.url)
        const waited = (yield* Metric.value(TokenCache.metrics.waits)).count > waitsBefore
        const value = fingerprint(token.value)
        yield* info(
          `t+${i}s ${value} ${value === last ? "(same)" : "(new)"} ` +
            `expires in ${Math.round((token.expiresAt - Date.now()) / 100) / 10}s, ` +
            (waited ? "waited for a fetch" : "served from the cache")
        )
        last = value
        yield* Effect.sleep("1 second")
      }
      yield* info(`identity fetches seen by the metadata server: ${emulator.controls.count("metadata.identity")}`)
      yield* step("Done. With real ADC (Cloud Run, or gcloud locally) the same code runs against Google Cloud.")
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)
