/**
 * No secret in anything a user could print, across every model backend and every
 * failure we can force on its wire: Google / Ollama / vLLM error statuses (the
 * emulators' own bodies, retried per the default policy where retryable), a non-JSON
 * 200, a connection reset before the answer, a stream that breaks with an error event
 * or a reset after its first chunk, the Cloud Run front door's 401 and 403, and the
 * successful call (whose spans carry the request headers). For each cell the error's
 * message / String / toString / JSON / util.inspect / stack, the exit's JSON, inspect
 * and Cause.pretty, every log line at Debug with its annotations, console output and
 * every exported span (attributes, events, status) are searched for every token, key
 * and credential collected from the wire.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import {
  backendLayer,
  type BackendName,
  backends,
  leakReport,
  modelOf,
  observe,
  protocolOf,
  serve,
  tokenKindOf,
  useSharedAuth,
  useWorld,
  vllmApiKey
} from "./support.js"

const world = useWorld()
const emulator = world.emulator

/** A failure on the wire that the model emulators do not play themselves. */
type WireFault = "none" | "non-json" | "reset" | "reset-mid-stream"
let wire: WireFault = "none"

const firstChunk = {
  gemini: `data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Hel" }] } }] })}\r\n\r\n`,
  ollama: `${
    JSON.stringify({
      model: "gemma3:4b",
      created_at: "2026-11-29T00:00:00Z",
      message: { role: "assistant", content: "Hel" },
      done: false
    })
  }\n`,
  openai: `data: ${
    JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "google/gemma-3-4b-it",
      choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }]
    })
  }\n\n`
} as const
const streamType = { gemini: "text/event-stream", ollama: "application/x-ndjson", openai: "text/event-stream" } as const

const faulty =
  (protocol: "gemini" | "ollama" | "openai", inner: Http.RequestListener): Http.RequestListener => (req, res) => {
    switch (wire) {
      case "none":
        return inner(req, res)
      case "non-json":
        req.resume()
        res.writeHead(200, { "content-type": "application/json" })
        return res.end("<html><body>upstream maintenance</body></html>")
      case "reset":
        req.resume()
        return req.socket.destroy()
      case "reset-mid-stream":
        req.resume()
        res.writeHead(200, { "content-type": streamType[protocol] })
        res.write(firstChunk[protocol], () => setImmediate(() => req.socket.destroy()))
        return
    }
  }

const gemini = GeminiEmulator.make({
  authorize: (request) =>
    GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)(request)
})
const geminiBehindCloudRun = GeminiEmulator.make()
const ollama = OllamaEmulator.make()
const vllm = OpenAICompatibleEmulator.make()
const vllmKeyed = OpenAICompatibleEmulator.make({ apiKey: Redacted.value(vllmApiKey) })

/** Each backend variant's upstream: its URL, its emulator's fault switch and reset. */
interface Upstream {
  url: string
  readonly fail: (status: number, midStream: boolean) => void
  readonly reset: () => void
}
const upstreams = {} as Record<BackendName, Upstream>
let forbidden: Emulator.CloudRunService

beforeAll(async () => {
  world.secrets.add("api-key", Redacted.value(vllmApiKey))
  const direct = await serve(faulty("gemini", gemini.handler), { secrets: world.secrets })
  const deploy = async (name: string, protocol: "gemini" | "ollama" | "openai", handler: Http.RequestListener) =>
    (await emulator.cloudRun.deploy({ name, handler: faulty(protocol, handler) })).url
  const geminiFault = (e: GeminiEmulator.GeminiEmulator) => (status: number, midStream: boolean) =>
    e.fail({ status, midStream }, 100)
  const geminiRun = await deploy("gemma-gemini", "gemini", geminiBehindCloudRun.handler)
  const ollamaRun = await deploy("gemma-ollama", "ollama", ollama.handler)
  const vllmRun = await deploy("gemma-vllm", "openai", vllm.handler)
  const vllmKeyedRun = await deploy("gemma-vllm-keyed", "openai", vllmKeyed.handler)
  const ollamaUp = {
    fail: (status: number, midStream: boolean) => ollama.fail({ status, midStream }, 100),
    reset: ollama.reset
  }
  const vllmUp = {
    fail: (status: number, midStream: boolean) => vllm.fail({ status, midStream }, 100),
    reset: vllm.reset
  }
  Object.assign(
    upstreams,
    {
      "gemini-vertex": { url: direct.url, fail: geminiFault(gemini), reset: gemini.reset },
      "gemini-api": { url: direct.url, fail: geminiFault(gemini), reset: gemini.reset },
      "gemini-cloud-run": {
        url: geminiRun,
        fail: geminiFault(geminiBehindCloudRun),
        reset: geminiBehindCloudRun.reset
      },
      "ollama": { url: ollamaRun, ...ollamaUp },
      "ollama-xsa": { url: ollamaRun, ...ollamaUp },
      "openai": { url: vllmRun, ...vllmUp },
      "openai-xsa": { url: vllmRun, ...vllmUp },
      "openai-api-key": {
        url: vllmKeyedRun,
        fail: (status: number, midStream: boolean) => vllmKeyed.fail({ status, midStream }, 100),
        reset: vllmKeyed.reset
      }
    } satisfies Record<BackendName, Upstream>
  )
  forbidden = await emulator.cloudRun.deploy({
    name: "forbidden",
    handler: ollama.handler,
    invokers: ["nobody@example.com"]
  })
  return direct.close
})

type Op = "generate" | "stream"

interface Fault {
  readonly name: string
  readonly ops: ReadonlyArray<Op>
  readonly status?: number
  readonly midStream?: boolean
  readonly wire?: WireFault
}

const faults: ReadonlyArray<Fault> = [
  { name: "success", ops: ["generate", "stream"] },
  ...[400, 401, 403, 429, 503].map((status) => ({
    name: `upstream ${status}`,
    ops: ["generate", "stream"] as const,
    status
  })),
  { name: "non-JSON 200 (decode)", ops: ["generate", "stream"], wire: "non-json" },
  { name: "connection reset (transport)", ops: ["generate", "stream"], wire: "reset" },
  { name: "error event mid-stream", ops: ["stream"], status: 500, midStream: true },
  { name: "connection reset mid-stream", ops: ["stream"], wire: "reset-mid-stream" }
]

const request = (backend: BackendName): ModelRequest.ModelRequest => ({
  model: modelOf(backend),
  contents: [ModelRequest.user("tell me a secret")]
})

const run = (op: Op, backend: BackendName) =>
  Effect.flatMap(ModelService, (model) =>
    op === "generate"
      ? Effect.asVoid(model.generate(request(backend)))
      : Effect.asVoid(Stream.runCollect(model.stream(request(backend)))))

/** One AuthService for the file; the auth suite covers its own failure paths with fresh builds. */
const sharedAuth = useSharedAuth(world)
const base = () => Layer.mergeAll(sharedAuth(), FetchHttpClient.layer)

const cell = (backend: BackendName, url: string, op: Op) =>
  run(op, backend).pipe(Effect.provide(backendLayer(backend, { url, retry: oneRetry }).pipe(Layer.provide(base()))))

/** One retry: the retry path is walked (its logs and spans searched) without three backoffs per cell. */
const oneRetry = RetryPolicy.make({ retries: 1 })

describe.each(backends)("%s", (backend) => {
  describe.each(["generate", "stream"] as const)("%s", (op) => {
    const cases = faults.filter((f) => f.ops.includes(op))
    it.effect.each(cases)("$name: no secret in any printed form", (fault) =>
      Effect.gen(function*() {
        const upstream = upstreams[backend]
        upstream.reset()
        if (fault.status !== undefined) upstream.fail(fault.status, fault.midStream === true)
        wire = fault.wire ?? "none"
        const observed = yield* observe(cell(backend, upstream.url, op), world).pipe(
          Effect.ensuring(Effect.sync(() => {
            wire = "none"
            upstream.reset()
          }))
        )
        // the cell walked the path it names, with a live token
        // (a non-JSON 200 on an SSE stream, Gemini or OpenAI, carries no event: today an empty answer, not an error)
        if (!(fault.wire === "non-json" && op === "stream" && protocolOf(backend) !== "ollama")) {
          expect(Exit.isSuccess(observed.exit)).toBe(fault.name === "success")
        }
        expect(world.secrets.count(tokenKindOf(backend) === "access" ? "access-token" : "id-token")).toBeGreaterThan(0)
        expect(observed.spans).toBeGreaterThan(0)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      }))
  })
})

describe.each(["ollama", "ollama-xsa", "openai", "openai-xsa", "gemini-cloud-run"] as const)(
  "%s: the Cloud Run front door",
  (backend) => {
    it.effect("401 invalid_token on every attempt (token invalidated, replayed once): no secret in any printed form", () =>
      Effect.gen(function*() {
        const service = protocolOf(backend) === "gemini"
          ? "gemma-gemini"
          : protocolOf(backend) === "ollama"
          ? "gemma-ollama"
          : "gemma-vllm"
        emulator.controls.fail(`cloudrun:${service}`, {
          kind: "status",
          status: 401,
          body: "<html><body>Your client does not have permission</body></html>",
          headers: {
            "www-authenticate":
              "Bearer error=\"invalid_token\" error_description=\"The access token could not be verified\""
          }
        }, 100)
        const observed = yield* observe(cell(backend, upstreams[backend].url, "generate"), world).pipe(
          Effect.ensuring(Effect.sync(() => emulator.controls.clearFailures()))
        )
        expect(Exit.isFailure(observed.exit)).toBe(true)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      }))

    it.effect("403 for a caller who is not an invoker: no secret in any printed form", () =>
      Effect.gen(function*() {
        const observed = yield* observe(
          run("generate", backend).pipe(
            Effect.provide(
              backendLayer(backend, { url: forbidden.url }).pipe(Layer.provide(base()))
            )
          ),
          world
        )
        expect(Exit.isFailure(observed.exit)).toBe(true)
        expect(
          emulator.controls.log.some((l) => l.endpoint === "cloudrun:forbidden" && (l.detail ?? "").includes("403"))
        ).toBe(true)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      }))
  }
)
