/**
 * Shared by the examples: with `EFFECT_ADC_DEMO=1` (or `--demo`) they run against the
 * local emulator from `effect-adc/testing` instead of Google Cloud, so they need no
 * account and reach nothing beyond loopback. Without it they use your real ADC.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as AuthService from "../src/auth/AuthService.js"
import * as Emulator from "../src/testing/Emulator.js"

/** Is this run in demo mode? */
export const isDemo = (): boolean => process.env["EFFECT_ADC_DEMO"] === "1" || process.argv.includes("--demo")

/**
 * In demo mode, starts the emulator for the current scope, points this process at it
 * (as if on Cloud Run: metadata server, no gcloud) and returns the AuthService options
 * that reach it. Otherwise returns no options: real ADC.
 */
export const authOptions: Effect.Effect<AuthService.Options, never, Scope.Scope> = Effect.suspend(() => {
  if (!isDemo()) return Effect.succeed({})
  return Effect.acquireRelease(Effect.promise(() => Emulator.start()), (e) => Effect.promise(() => e.close())).pipe(
    Effect.map((emulator) => {
      Object.assign(process.env, emulator.env)
      delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
      return { projectId: emulator.projectId, clientOptions: emulator.clientOptions }
    })
  )
})

/** Runs an example's `main` when the file is executed directly, reporting a failure as one line. */
export const runMain = (url: string, main: () => Promise<unknown>): void => {
  if (url !== `file://${process.argv[1]}`) return
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
