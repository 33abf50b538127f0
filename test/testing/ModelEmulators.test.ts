/**
 * The public `ModelEmulators` / `Loopback` of effect-adc/testing: the model emulators
 * reachable only as the real ones are (ID tokens at the Cloud Run front door, access
 * tokens at Gemini), and closed with their scope.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Emulator from "../../src/testing/Emulator.js"
import * as Loopback from "../../src/testing/Loopback.js"
import * as ModelEmulators from "../../src/testing/ModelEmulators.js"

const metadata = (emulator: Emulator.EmulatorHandle, path: string) =>
  Effect.promise(async () =>
    (await fetch(`${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/${path}`, {
      headers: { "Metadata-Flavor": "Google" }
    })).text()
  )
const idToken = (emulator: Emulator.EmulatorHandle, audience: string) =>
  metadata(emulator, `identity?audience=${encodeURIComponent(audience)}`)
const accessToken = (emulator: Emulator.EmulatorHandle) =>
  metadata(emulator, "token").pipe(Effect.map((body) => (JSON.parse(body) as { access_token: string }).access_token))

const status = (url: string, init?: RequestInit) => Effect.promise(async () => (await fetch(url, init)).status)
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
const geminiBody = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hello" }] }] })

describe("ModelEmulators.layerTest", () => {
  it.scoped("Ollama and vLLM answer only an ID token for their own URL", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { ollama, openAICompatible } = yield* ModelEmulators.ModelEmulators
      const forOllama = yield* idToken(emulator, ollama.url)
      const forVllm = yield* idToken(emulator, openAICompatible.url)
      const access = yield* accessToken(emulator)
      expect(yield* status(`${ollama.url}/api/tags`)).toBe(401)
      expect(yield* status(`${ollama.url}/api/tags`, bearer(access))).toBe(401)
      expect(yield* status(`${ollama.url}/api/tags`, bearer(forVllm))).toBe(401)
      expect(yield* status(`${ollama.url}/api/tags`, bearer(forOllama))).toBe(200)
      expect(yield* status(`${openAICompatible.url}/v1/models`, bearer(forOllama))).toBe(401)
      expect(yield* status(`${openAICompatible.url}/v1/models`, bearer(forVllm))).toBe(200)
      expect(ollama.emulator.requests.length).toBe(1)
      expect(new URL(ollama.url).hostname).toBe("127.0.0.1")
    }).pipe(Effect.provide(ModelEmulators.layerTest())))

  it.scoped("Gemini answers only the identity emulator's access tokens, and records who called", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const { gemini } = yield* ModelEmulators.ModelEmulators
      const url = `${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`
      const post = (headers: Record<string, string>) =>
        status(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: geminiBody })
      expect(yield* post({})).toBe(401)
      expect(yield* post({ authorization: "Bearer not-a-token" })).toBe(401)
      expect(yield* post({ "x-goog-api-key": "AIza-some-key" })).toBe(400) // API_KEY_INVALID, as Google answers
      expect(yield* post({ authorization: `Bearer ${yield* idToken(emulator, gemini.url)}` })).toBe(401)
      expect(yield* post({ authorization: `Bearer ${yield* accessToken(emulator)}` })).toBe(200)
      expect(gemini.emulator.requests.map((r) => r.principal)).toContain(emulator.serviceAccount.email)
    }).pipe(Effect.provide(ModelEmulators.layerTest())))

  it.effect("service names, models and invokers are options", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const models = yield* ModelEmulators.ModelEmulators
      expect(models.ollama.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const tags = yield* Effect.promise(async () => (await fetch(`${models.ollama.url}/api/tags`)).json())
      expect(tags).toMatchObject({ models: [{ name: "llama3:latest" }] })
      expect(emulator.projectId).toBe("p-1")
    }).pipe(
      Effect.provide(
        ModelEmulators.layerTest({
          emulator: { projectId: "p-1" },
          ollama: { models: ["llama3"] },
          invokers: "allUsers"
        })
      ),
      Effect.scoped
    ))

  it.effect("closing the scope closes every server", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(ModelEmulators.layerTest({ invokers: "allUsers" }), scope)
      const { gemini, ollama, openAICompatible } = Context.get(context, ModelEmulators.ModelEmulators)
      expect(yield* status(`${ollama.url}/api/tags`)).toBe(200)
      yield* Scope.close(scope, Exit.void)
      for (const url of [gemini.url, ollama.url, openAICompatible.url]) {
        const refused = yield* Effect.promise(() => fetch(url).then(() => false, () => true))
        expect(refused).toBe(true)
      }
    }))
})

describe("Loopback.serve", () => {
  it.effect("close ends a response still streaming instead of waiting for it", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() =>
        Loopback.serve((_req, res) => {
          res.writeHead(200)
          res.write("first")
        })
      )
      const body = yield* Effect.promise(() =>
        new Promise<string>((resolve) => {
          Http.get(server.url, (res) => {
            let text = ""
            res.on("data", (d: Buffer) => {
              text += d.toString()
              if (text === "first") void server.close()
            })
            res.on("close", () => resolve(text))
          })
        })
      )
      expect(body).toBe("first")
      yield* Effect.promise(() => server.close())
      expect(yield* Effect.promise(() => fetch(server.url).then(() => false, () => true))).toBe(true)
    }))
})
