/**
 * No token in telemetry or errors: spans exported through OpenTelemetry's in-memory
 * exporter, and every form of every error the middleware can return (message,
 * toString, JSON.stringify, util.inspect, the Exit), on success, status, decode,
 * transport and token-fetch paths, for both token headers.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Http from "node:http"
import * as Util from "node:util"
import * as AuthService from "../../src/auth/AuthService.js"
import type { TokenTarget } from "../../src/auth/TokenTarget.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let service: Emulator.CloudRunService
let forbidden: Emulator.CloudRunService

const handler: Http.RequestListener = (req, res) => {
  req.resume()
  req.on("end", () => {
    if (req.url === "/html") {
      res.writeHead(200, { "content-type": "text/html" })
      return res.end("<html>not json</html>")
    }
    if (req.url === "/fail") {
      res.writeHead(500, { "content-type": "text/plain" })
      return res.end("boom")
    }
    res.writeHead(200, { "content-type": "application/json" })
    res.end("{\"ok\":true}")
  })
}

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "svc", handler })
  forbidden = await emulator.cloudRun.deploy({ name: "forbidden", handler, invokers: ["someone@else.com"] })
})

/** The in-memory exporter, kept across the layer's shutdown (which would empty it). */
class KeepingExporter extends InMemorySpanExporter {
  readonly kept: Array<ReadableSpan> = []
  override export(spans: Array<ReadableSpan>, done: Parameters<InMemorySpanExporter["export"]>[1]): void {
    this.kept.push(...spans)
    super.export(spans, done)
  }
}
const exporter = new KeepingExporter()
beforeEach(() => {
  exporter.kept.length = 0
})

const tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "redaction-test" },
  spanProcessor: new SimpleSpanProcessor(exporter)
}))

/** A Google ID token (header.payload, with or without signature) or an access token. */
const secret = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}|ya29\.[\w.-]{8,}/

/** Every printed form of a value. */
const forms = (value: unknown): string => {
  const parts = [Util.inspect(value, { depth: 10 }), safeJson(value)]
  if (value instanceof Error) parts.push(value.message, String(value), value.stack ?? "")
  return parts.join("\n")
}
const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? ""
  } catch (error) {
    return String(error)
  }
}

const spansText = () =>
  exporter.kept.map((span) =>
    JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status })
  ).join("\n")

const headers = ["Authorization", "X-Serverless-Authorization"] as const
const targetFor = (header: typeof headers[number]): TokenTarget => ({ kind: "id", audience: service.url, header })

type Path = (
  client: HttpClient.HttpClient.With<unknown, AuthService.AuthService>,
  base: string
) => Effect.Effect<unknown, unknown, AuthService.AuthService>

/** The error paths (and a success) a caller can hit; each returns what the caller holds. */
const paths: ReadonlyArray<readonly [string, Path]> = [
  ["a successful call", (client, base) => Effect.flatMap(client.get(`${base}/ok`), (r) => r.json)],
  [
    "filterStatusOk after the middleware (500)",
    (client, base) => HttpClient.filterStatusOk(client).get(`${base}/fail`)
  ],
  ["Decode: json of a non-JSON 200", (client, base) => Effect.flatMap(client.get(`${base}/html`), (r) => r.json)],
  ["the response itself, printed", (client, base) => client.get(`${base}/ok`)],
  ["transport: nothing listens", (client) => client.get("http://127.0.0.1:9/x")]
]

describe.each(paths)("%s", (_name, path) => {
  it.each(headers)("token in %s: not in spans, errors or the exit", async (header) => {
    const target = targetFor(header)
    const exit = await Effect.runPromiseExit(
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.withAuth(target, { origins: ["http://127.0.0.1:9"] })
        )
        return yield* path(client, service.url)
      }).pipe(
        Effect.withSpan("caller"),
        Effect.provide(
          Layer.mergeAll(
            AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }),
            FetchHttpClient.layer,
            tracing
          )
        )
      )
    )
    const held = Exit.match(exit, { onFailure: (cause) => cause, onSuccess: (value) => value })
    const failure = Exit.isFailure(exit) ? exit.cause : undefined
    expect(forms(held)).not.toMatch(secret)
    expect(forms(exit)).not.toMatch(secret)
    if (failure !== undefined) expect(forms(failure)).not.toMatch(secret)
    const spans = spansText()
    // The request span exists and shows the header, redacted.
    expect(spans).toContain("http.client")
    if (_name !== "transport: nothing listens") {
      expect(spans).toContain(`"http.request.header.${header.toLowerCase()}":"<redacted>"`)
    }
    expect(spans).not.toMatch(secret)
  })
})

describe("transformClient", () => {
  it("a token error is a RequestError (Transport) whose cause is the AuthError, and carries no token", async () => {
    emulator.controls.fail("metadata.identity", { kind: "status", status: 500, body: "down" })
    const error = await Effect.runPromise(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.transformClient(auth, { kind: "id", audience: forbidden.url })
        )
        return yield* Effect.flip(client.execute(HttpClientRequest.get(`${forbidden.url}/x`)))
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }),
            FetchHttpClient.layer
          )
        )
      )
    )
    emulator.controls.clearFailures()
    expect(error._tag).toBe("RequestError")
    expect(error.reason).toBe("Transport")
    expect(error.cause).toMatchObject({ _tag: expect.stringMatching(/^Token/) })
    expect(error.description).toBe(error.cause instanceof Error ? error.cause.message : "not an Error")
    expect(emulator.controls.count("cloudrun:forbidden")).toBe(0)
  })

  it("signs like withAuth: the front door accepts the token (403 here is the invoker check)", async () => {
    const status = await Effect.runPromise(
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.transformClient(auth, { kind: "id", audience: service.url })
        )
        return (yield* client.get(`${service.url}/ok`)).status
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }),
            FetchHttpClient.layer
          )
        )
      )
    )
    expect(status).toBe(200)
  })
})
