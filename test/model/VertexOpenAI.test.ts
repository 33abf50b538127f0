/**
 * Every Google endpoint keyless, end to end through the public API: Vertex AI's
 * OpenAI-compatible endpoint (shared `openapi` on the global, multi-region and regional
 * hosts; a Model Garden endpoint on its dedicated `*.prediction.vertexai.goog` host) and
 * Gemini on the multi-region hosts, reached under their real names (test/support/
 * googleHosts: every name resolves to a loopback TLS server, the client checks the
 * certificate) with no `origins` configured — the default allow-list alone lets the
 * access token through. Tokens come from the identity emulator's metadata server and
 * are checked by its tokeninfo, on the emulator's clock, which the tests move with the
 * TestClock.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AuthService from "../../src/auth/AuthService.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelConfig from "../../src/model/ModelConfig.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as VertexOpenAI from "../../src/model/openai/VertexOpenAI.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as VertexOpenAIEmulator from "../../src/testing/models/VertexOpenAIEmulator.js"
import { useEmulator } from "../support/emulator.js"
import * as GoogleHosts from "../support/googleHosts.js"
import { tick } from "./support.js"

const emulator = useEmulator({ env: true })

const dedicatedHost = "1234567890.us-central1-987654321.prediction.vertexai.goog"
const sharedHosts = {
  global: "aiplatform.googleapis.com",
  us: "aiplatform.us.rep.googleapis.com",
  eu: "aiplatform.eu.rep.googleapis.com",
  "us-central1": "us-central1-aiplatform.googleapis.com"
} as const

let hosts: GoogleHosts.GoogleHosts
let vertex: VertexOpenAIEmulator.VertexOpenAIEmulator
let gemini: GeminiEmulator.GeminiEmulator

beforeAll(async () => {
  hosts = await GoogleHosts.start([dedicatedHost, ...Object.values(sharedHosts)])
  const authorize = GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)
  vertex = VertexOpenAIEmulator.make({ authorize })
  gemini = GeminiEmulator.make({ authorize })
  hosts.handler = vertex.route(gemini.handler)
})

afterAll(() => hosts.close())

/** A fresh token cache per test, the name-mapping undici client, no `origins` anywhere. */
const run = <A, E>(
  backend: Layer.Layer<ModelService, unknown, AuthService.AuthService | HttpClient.HttpClient>,
  effect: Effect.Effect<A, E, ModelService>
) => {
  vertex.reset()
  gemini.reset()
  hosts.seen.length = 0
  return effect.pipe(
    Effect.provide(backend.pipe(
      Layer.provide(Layer.mergeAll(
        AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
        hosts.httpClient
      )),
      Layer.orDie
    ))
  )
}

const dedicated = () =>
  VertexOpenAI.layer({
    project: "emulator-project",
    location: "us-central1",
    endpoint: "1234567890",
    baseUrl: `https://${dedicatedHost}`
  })

const ask = (text: string, model = "google/gemma-3-12b-it") =>
  Effect.flatMap(ModelService, (service) => service.generate({ model, contents: [ModelRequest.user(text)] }))

/** Every request that carried a token went to one of these hosts (no port: 443). */
const tokenHosts = () => [...new Set(hosts.seen.filter((s) => s.carriesToken).map((s) => s.host))]

describe("a Model Garden dedicated endpoint (*.prediction.vertexai.goog)", () => {
  it.effect("the access token reaches its OpenAI-compatible path with no origins configured; generate and stream", () =>
    run(
      dedicated(),
      Effect.gen(function*() {
        const response = yield* ask("hello there")
        expect(response.text).toBe("Echo: hello there")
        const chunks = yield* Effect.flatMap(
          ModelService,
          (service) =>
            Stream.runCollect(
              service.stream({ model: "google/gemma-3-12b-it", contents: [ModelRequest.user("again")] })
            )
        )
        expect(Chunk.toArray(chunks).map((c) => c.textDelta).join("")).toBe("Echo: again")
        expect(vertex.requests.map((r) => [r.host, r.path, r.principal])).toEqual([
          [
            dedicatedHost,
            "/v1beta1/projects/emulator-project/locations/us-central1/endpoints/1234567890/chat/completions",
            emulator.serviceAccount.email
          ],
          [
            dedicatedHost,
            "/v1beta1/projects/emulator-project/locations/us-central1/endpoints/1234567890/chat/completions",
            emulator.serviceAccount.email
          ]
        ])
        expect(vertex.requests[0]?.headers["authorization"]).toMatch(/^Bearer ya29\./)
        expect(vertex.chat.requests.map((r) => (r.body as { stream?: boolean }).stream)).toEqual([false, true])
        expect(tokenHosts()).toEqual([dedicatedHost])
      })
    ))

  it.effect("refreshes across an hour of TestClock: every refreshed token is used, none is refused", () =>
    run(
      dedicated(),
      Effect.gen(function*() {
        // 15-minute tokens, an hour and a quarter in 5-minute steps: the emulator's clock
        // moves with the TestClock, so its tokeninfo refuses a token the cache kept too long
        emulator.controls.setTokenLifetime(900)
        // start two hours on: the metadata server's tokens of earlier tests are past reuse
        const start = 2 * 3600_000
        emulator.controls.setClockOffset(start)
        const steps = 15
        for (let step = 0; step <= steps; step++) {
          const response = yield* ask(`step ${step}`)
          expect(response.text).toBe(`Echo: step ${step}`)
          // the emulator's clock first: a refresh the adjustment wakes sees the new time
          emulator.controls.setClockOffset(start + (step + 1) * 5 * 60_000)
          yield* TestClock.adjust("5 minutes")
          for (let i = 0; i < 20; i++) yield* tick
        }
        const tokens = vertex.requests.map((r) => r.headers["authorization"] ?? "")
        const distinct = [...new Set(tokens)]
        // one request per step, each accepted: no 401, no replay
        expect(vertex.requests.length).toBe(steps + 1)
        expect(vertex.requests.every((r) => r.principal === emulator.serviceAccount.email)).toBe(true)
        // 80 minutes of 15-minute tokens (the metadata server hands out a new one in the
        // last 5 minutes of the old one's life): at least six refreshes, each one used
        expect(distinct.length).toBeGreaterThanOrEqual(7)
        // each new token replaced the old one for good (no going back to an older one)
        const firstUse = distinct.map((token) => tokens.indexOf(token))
        const lastUse = distinct.map((token) => tokens.lastIndexOf(token))
        for (let i = 1; i < distinct.length; i++) expect(firstUse[i]!).toBeGreaterThan(lastUse[i - 1]!)
        expect(emulator.controls.count("metadata.token")).toBeGreaterThanOrEqual(distinct.length)
        expect(tokenHosts()).toEqual([dedicatedHost])
      })
    ))

  it.effect("a token the endpoint refuses (401 invalid_token) is invalidated and the request replayed once", () =>
    run(
      dedicated(),
      Effect.gen(function*() {
        yield* ask("one")
        const first = vertex.requests[0]?.headers["authorization"]
        // the emulator's clock passes the token's expiry: its tokeninfo refuses it
        emulator.controls.setClockOffset(24 * 3600_000)
        const response = yield* ask("two")
        expect(response.text).toBe("Echo: two")
        expect(vertex.requests.map((r) => r.principal)).toEqual([
          emulator.serviceAccount.email,
          undefined,
          emulator.serviceAccount.email
        ])
        expect(vertex.requests[1]?.headers["authorization"]).toBe(first)
        expect(vertex.requests[2]?.headers["authorization"]).not.toBe(first)
      })
    ))
})

describe("the shared openapi endpoint and Gemini on the multi-region hosts", () => {
  it.effect.each(Object.entries(sharedHosts))(
    "location %s → https://%s, OpenAI-compatible path",
    ([location, host]) =>
      run(
        VertexOpenAI.layer({ project: "emulator-project", location }),
        Effect.gen(function*() {
          const response = yield* ask("hi", "google/gemini-2.5-flash")
          expect(response.text).toBe("Echo: hi")
          expect(vertex.requests.map((r) => [r.host, r.path, r.principal])).toEqual([[
            host,
            `/v1beta1/projects/emulator-project/locations/${location}/endpoints/openapi/chat/completions`,
            emulator.serviceAccount.email
          ]])
          expect((vertex.chat.requests[0]?.body as { model?: string }).model).toBe("google/gemini-2.5-flash")
          expect(tokenHosts()).toEqual([host])
        })
      )
  )

  it.effect.each(["us", "eu"] as const)(
    "GeminiVertex in location %s calls aiplatform.{location}.rep.googleapis.com",
    (location) =>
      run(
        GeminiVertex.layer({ project: "emulator-project", location }),
        Effect.gen(function*() {
          const response = yield* ask("hi", "gemini-2.5-flash")
          expect(response.text).toBe("Echo: hi")
          expect(gemini.requests.map((r) => [r.headers["host"], r.path, r.principal])).toEqual([[
            sharedHosts[location],
            `/v1/projects/emulator-project/locations/${location}/publishers/google/models/gemini-2.5-flash:generateContent`,
            emulator.serviceAccount.email
          ]])
        })
      )
  )
})

describe("ModelConfig: EFFECT_ADC_MODEL_BACKEND=vertex-openai", () => {
  const fromEnv = (env: Record<string, string>) =>
    ModelConfig.layerConfig.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env))))

  it.effect("the endpoint ID and the dedicated URL come from the environment; the token reaches it", () =>
    run(
      fromEnv({
        EFFECT_ADC_MODEL_BACKEND: "vertex-openai",
        GOOGLE_CLOUD_PROJECT: "env-project",
        GOOGLE_CLOUD_LOCATION: "us-central1",
        EFFECT_ADC_VERTEX_ENDPOINT: "1234567890",
        EFFECT_ADC_VERTEX_OPENAI_URL: `https://${dedicatedHost}`
      }),
      Effect.gen(function*() {
        expect((yield* ask("from env")).text).toBe("Echo: from env")
        expect(vertex.requests.map((r) => [r.host, r.path])).toEqual([[
          dedicatedHost,
          "/v1beta1/projects/env-project/locations/us-central1/endpoints/1234567890/chat/completions"
        ]])
      })
    ))

  it.effect("the shared openapi endpoint of the eu multi-region by default; no project is a ModelConfigError", () =>
    Effect.gen(function*() {
      yield* run(
        fromEnv({ EFFECT_ADC_MODEL_BACKEND: "vertex-openai", GOOGLE_CLOUD_PROJECT: "p", GOOGLE_CLOUD_LOCATION: "eu" }),
        Effect.gen(function*() {
          yield* ask("x", "google/gemini-2.5-flash")
          expect(vertex.requests.map((r) => [r.host, r.path])).toEqual([[
            sharedHosts.eu,
            "/v1beta1/projects/p/locations/eu/endpoints/openapi/chat/completions"
          ]])
        })
      )
      const exit = yield* Effect.exit(run(fromEnv({ EFFECT_ADC_MODEL_BACKEND: "vertex-openai" }), ask("x")))
      expect(Exit.isFailure(exit) ? String(exit.cause) : "").toContain("GOOGLE_CLOUD_PROJECT")
    }))
})

describe("errors of a Vertex endpoint give Vertex's advice, not Cloud Run's", () => {
  const at = (path: string) => `https://${dedicatedHost}${path}`
  const vertexUrl = at("/v1beta1/projects/p/locations/us-central1/endpoints/1234567890/chat/completions")
  it.effect.each(
    [
      [
        "PermissionDenied",
        (url: string) => new ModelError.PermissionDenied({ backend: "openai-compatible", url, detail: "" })
      ],
      ["Unauthorized", (url: string) => new ModelError.Unauthorized({ backend: "openai-compatible", url, detail: "" })],
      ["NotFound", (url: string) => new ModelError.NotFound({ backend: "openai-compatible", url, detail: "" })]
    ] as const
  )("%s", ([_name, make]) =>
    Effect.sync(() => {
      const vertexMessage = make(vertexUrl).message
      const cloudRunMessage = make("https://gemma-vllm-abc-uc.a.run.app/v1/chat/completions").message
      expect(vertexMessage).not.toMatch(/run\.invoker|ID token|vLLM/)
      expect(cloudRunMessage).toMatch(/run\.invoker|ID token|vLLM/)
    }))

  it.effect("a 404 for an unknown model on the dedicated endpoint says to check the endpoint and model", () =>
    run(
      dedicated(),
      Effect.gen(function*() {
        const error = yield* Effect.flip(ask("x", "google/no-such-model"))
        expect(error._tag).toBe("NotFound")
        expect(error.message).toContain("Check the endpoint ID, the location and the model name")
      })
    ))
})

describe("a Private Service Connect address", () => {
  it.effect("is refused at construction unless listed in origins (no call goes out unsigned)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(run(
        VertexOpenAI.layer({ project: "p", location: "us-central1", endpoint: "1", baseUrl: "https://10.128.0.5" }),
        ask("x")
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit.toString())).toContain("ModelConfigError")
      expect(hosts.seen).toEqual([])
    }))
})
