/**
 * Both kinds of Google token from one ADC source, with no API key:
 * an access token for Gemini / Google APIs and an ID token for a private Cloud Run
 * service, then the request headers for each.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/auth-tokens.ts           # against the local emulator
 *   CLOUD_RUN_URL=https://… npx tsx examples/auth-tokens.ts     # against your ADC
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AuthService from "../src/auth/AuthService.js"
import { authOptions } from "./demoMode.js"

/** The example program; returns what it printed, for the examples test. */
export const program = Effect.gen(function*() {
  const auth = yield* AuthService.AuthService
  const audience = process.env["CLOUD_RUN_URL"] ?? "https://gemma-abc123-uc.a.run.app"
  const lines: Array<string> = []
  const say = (line: string) =>
    Effect.sync(() => {
      lines.push(line)
      console.log(line)
    })

  yield* say(`ADC source: ${auth.identity.source} (${auth.identity.origin})`)
  yield* say(`principal:  ${auth.identity.principal ?? "unknown"}, project: ${auth.identity.projectId ?? "unknown"}`)

  const access = yield* auth.accessToken()
  yield* say(`access token ${access.value} expires ${new Date(access.expiresAt).toISOString()}`)
  const id = yield* auth.idToken(audience)
  yield* say(`ID token for ${audience} ${id.value} expires ${new Date(id.expiresAt).toISOString()}`)

  // Cached: the same value until the background fiber refreshes it.
  const again = yield* auth.idToken(audience)
  yield* say(`second call served from the cache: ${again === id}`)

  const headers = yield* auth.headers({ kind: "id", audience, header: "X-Serverless-Authorization" })
  yield* say(`headers for Cloud Run: ${Object.keys(headers).join(", ")}`)
  return lines
})

/** The layer: real ADC, or the emulator in demo mode. */
export const layer = Layer.unwrapScoped(Effect.map(authOptions, (options) => AuthService.layer(options)))

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
