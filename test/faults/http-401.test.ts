/**
 * 401 semantics of the signing layer, as a matrix: client × token header × challenge ×
 * body. A 401 is about our token only for a Bearer `invalid_token` challenge, or a bare
 * 401 (Cloud Run's front door) when the token went in `Authorization`. Then the token is
 * invalidated (even when the body cannot be sent again) and the request replayed once
 * when it can be; otherwise the 401 is returned untouched: no invalidation, no replay.
 * Measured per call: upstream requests, token fetches during the call, and token
 * fetches the next call needs (1 = the rejected token was dropped).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as AuthService from "../../src/auth/AuthService.js"
import type { IdTarget } from "../../src/auth/TokenTarget.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { useEmulator } from "../support/emulator.js"
import { fixtureText } from "../testing/fixtures.js"

const emulator = useEmulator({ env: true })

const invalidToken = fixtureText("cloudrun/www-authenticate-invalid-token.txt").trim()

/** What the server answers the first request of a case with. */
const challenges = [
  { name: "Cloud Run bare 401 (no challenge, HTML)", header: undefined, json: false },
  { name: "Bearer invalid_token (Cloud Run / Google APIs)", header: invalidToken, json: false },
  { name: "Basic challenge", header: "Basic realm=\"app\"", json: false },
  { name: "ApiKey challenge", header: "ApiKey", json: true },
  { name: "Bearer insufficient_scope", header: "Bearer realm=\"x\", error=\"insufficient_scope\"", json: true },
  { name: "app's own 401 (vLLM --api-key: JSON, no challenge)", header: undefined, json: true }
] as const

const limit = 4096
const small = Array.from({ length: 4 }, (_, i) => "abcdefgh".repeat(64).replace(/^./, String(i))) // 4 × 512 B = 2 KiB
const large = Array.from({ length: 16 }, () => "x".repeat(512)) // 8 KiB > limit
const bodies = [
  { name: "bytes", parts: ["payload"], stream: false },
  { name: "2 KiB chunked stream", parts: small, stream: true },
  { name: "8 KiB chunked stream (over replayBufferBytes)", parts: large, stream: true }
] as const

/** Requests per case id: the bodies they carried. */
const received = new Map<string, Array<string>>()
let server: Loopback.LoopbackServer
let base = ""

beforeAll(async () => {
  server = await Loopback.serve((req, res) => {
    const url = new URL(req.url ?? "/", "http://x")
    const id = url.searchParams.get("case") ?? ""
    const kind = Number(url.searchParams.get("challenge"))
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      const seen = [...(received.get(id) ?? []), body]
      received.set(id, seen)
      if (seen.length > 1) {
        res.writeHead(200, { "content-type": "text/plain" })
        return res.end(`ok:${body}`)
      }
      const challenge = challenges[kind]!
      res.writeHead(401, {
        "content-type": challenge.json ? "application/json" : "text/html",
        ...(challenge.header === undefined ? {} : { "www-authenticate": challenge.header })
      })
      res.end(challenge.json ? "{\"error\":\"Unauthorized\"}" : "<html><h1>Error: Unauthorized</h1></html>")
    })
  })
  base = server.url
})

afterAll(() => server.close())

/** One AuthService for the file (each case uses its own audience, so its own cache entry). */
let runtime: ManagedRuntime.ManagedRuntime<AuthService.AuthService, unknown>
beforeAll(() => {
  runtime = ManagedRuntime.make(
    AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
  )
})
afterAll(() => runtime.dispose())

type Send = (target: IdTarget, url: string, body: typeof bodies[number]) => Promise<number>

const effectSend = (layer: Layer.Layer<HttpClient.HttpClient>): Send => (target, url, body) =>
  runtime.runPromise(
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(AuthHttpClient.withAuth(target, { replayBufferBytes: limit }))
      const encoder = new TextEncoder()
      const request = body.stream
        ? HttpClientRequest.post(url).pipe(
          HttpClientRequest.bodyStream(Stream.fromIterable(body.parts.map((part) => encoder.encode(part))), {
            contentType: "text/plain"
          })
        )
        : HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText(body.parts.join("")))
      const response = yield* client.execute(request)
      yield* response.text
      return response.status
    }).pipe(Effect.provide(layer))
  )

const fetchSend: Send = async (target, url, body) => {
  const fetch = await runtime.runPromise(
    SigningFetch.makeEffect({ targets: { [base]: target }, replayBufferBytes: limit })
  )
  const encoder = new TextEncoder()
  const init: RequestInit & { duplex?: "half" } = body.stream
    ? {
      method: "POST",
      duplex: "half",
      body: new ReadableStream<Uint8Array>({
        start: (controller) => {
          for (const part of body.parts) controller.enqueue(encoder.encode(part))
          controller.close()
        }
      })
    }
    : { method: "POST", body: body.parts.join("") }
  const response = await fetch(url, init)
  await response.text()
  return response.status
}

const clients: ReadonlyArray<readonly [string, Send]> = [
  ["withAuth on fetch", effectSend(FetchHttpClient.layer)],
  ["withAuth on undici", effectSend(NodeHttpClient.layerUndici)],
  ["SigningFetch", fetchSend]
]
const headers = ["Authorization", "X-Serverless-Authorization"] as const

/** Per challenge × header: [upstream requests, token fetches during the call, token fetches the next call needs]. */
const figures = new Map<string, string>()
let cases = 0

describe.each(clients)("%s", (clientName, send) => {
  it.each(headers)("token in %s: every challenge × body", async (header) => {
    const mismatches: Array<string> = []
    for (const [kind, challenge] of challenges.entries()) {
      for (const body of bodies) {
        cases += 1
        const id = `${clientName}/${header}/${kind}/${body.name}`
        // One audience per case: a cold cache entry, so token fetches are this case's own.
        const audience = `${base}/${encodeURIComponent(id)}`
        const target: IdTarget = { kind: "id", audience, header }
        const fetches = () => emulator.controls.count("metadata.identity")
        const before = fetches()
        const status = await send(target, `${base}/call?case=${encodeURIComponent(id)}&challenge=${kind}`, body)
        const during = fetches() - before
        await runtime.runPromise(Effect.flatMap(AuthService.AuthService, (auth) => auth.headers(target)))
        const next = fetches() - before - during
        const upstream = received.get(id) ?? []
        // Bare 401s look alike: with the token in X-Serverless-Authorization, Cloud Run
        // accepted it and the 401 is the app's; in Authorization, it is ours.
        const ours = challenge.header === invalidToken || (challenge.header === undefined && header === "Authorization")
        const replayable = body.name !== "8 KiB chunked stream (over replayBufferBytes)"
        const expected = ours
          ? replayable
            ? { status: 200, upstream: 2, during: 2, next: 0 }
            : { status: 401, upstream: 1, during: 1, next: 1 }
          : { status: 401, upstream: 1, during: 1, next: 0 }
        const actual = { status, upstream: upstream.length, during, next }
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          mismatches.push(
            `${challenge.name} / ${body.name}: ${JSON.stringify(actual)} expected ${JSON.stringify(expected)}`
          )
        }
        // A replay carries the whole body again.
        if (upstream.length === 2 && upstream[1] !== body.parts.join("")) {
          mismatches.push(`${id}: replayed body differs`)
        }
        if (body.name === "bytes") {
          figures.set(`${challenge.name} | ${header}`, `${actual.upstream} | ${actual.during} | ${actual.next}`)
        }
      }
    }
    expect(mismatches).toEqual([])
  })
})

afterAll(() => {
  console.log(`http-401: ${cases} cases`)
  for (const [key, value] of figures) console.log(`| ${key} | ${value} |`)
})
