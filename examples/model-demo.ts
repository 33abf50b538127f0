/**
 * Shared by the model examples: with `EFFECT_ADC_DEMO=1` (or `--demo`) they run
 * against the local emulators from `effect-adc/testing` (identity emulator, Ollama and
 * vLLM emulators deployed behind its Cloud Run front door, a Gemini emulator that
 * checks access tokens), loopback only. Without it they use your real ADC and the URLs
 * from the environment.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as AuthService from "../src/auth/AuthService.js"
import * as Emulator from "../src/testing/Emulator.js"
import * as ModelEmulators from "../src/testing/ModelEmulators.js"

/** Is this run in demo mode? */
export const isDemo = (): boolean => process.env["EFFECT_ADC_DEMO"] === "1" || process.argv.includes("--demo")

/** Where the examples send their requests, and the AuthService options. */
export interface Endpoints {
  readonly ollamaUrl: string
  readonly vllmUrl: string
  /** A Gemini base URL override (the emulator), or undefined for Google's. */
  readonly geminiUrl: string | undefined
  readonly project: string
  readonly auth: AuthService.Options
}

/** The endpoints: emulators in demo mode, else the environment. */
export const endpoints: Effect.Effect<Endpoints, never, Scope.Scope> = Effect.suspend((): Effect.Effect<
  Endpoints,
  never,
  Scope.Scope
> => {
  if (!isDemo()) {
    return Effect.succeed({
      ollamaUrl: process.env["OLLAMA_URL"] ?? "https://gemma-ollama-abc123-uc.a.run.app",
      vllmUrl: process.env["VLLM_URL"] ?? "https://gemma-vllm-abc123-uc.a.run.app",
      geminiUrl: undefined,
      project: process.env["GOOGLE_CLOUD_PROJECT"] ?? "my-project",
      auth: {}
    })
  }
  return Effect.gen(function*() {
    const emulator = yield* Effect.acquireRelease(
      Effect.promise(() => Emulator.start()),
      (e) => Effect.promise(() => e.close())
    )
    Object.assign(process.env, emulator.env)
    delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
    const models = yield* Effect.acquireRelease(
      Effect.promise(() => ModelEmulators.serve(emulator)),
      (m) => Effect.promise(() => m.close())
    )
    return {
      ollamaUrl: models.ollama.url,
      vllmUrl: models.openAICompatible.url,
      geminiUrl: models.gemini.url,
      project: emulator.projectId,
      auth: { projectId: emulator.projectId, clientOptions: emulator.clientOptions }
    }
  })
})

/** AuthService and an HttpClient for the backends. */
export const baseLayer = (auth: AuthService.Options) =>
  Layer.mergeAll(AuthService.layer(auth), FetchHttpClient.layer).pipe(Layer.orDie)

/** Print and keep a line (the examples test reads what was printed). */
export const printer = () => {
  const lines: Array<string> = []
  return {
    lines,
    say: (line: string) =>
      Effect.sync(() => {
        lines.push(line)
        console.log(line)
      })
  }
}
