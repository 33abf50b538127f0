import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { IncomingMessage } from "node:http"
import * as AuthService from "../../src/auth/AuthService.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let service: Emulator.CloudRunService
let other: Emulator.CloudRunService
let forbidden: Emulator.CloudRunService
const seen: Array<IncomingMessage["headers"]> = []

const echo = (req: IncomingMessage, res: import("node:http").ServerResponse) => {
  seen.push(req.headers)
  if (req.url?.startsWith("/start") === true) {
    res.writeHead(307, { location: "/echo?hop=2" })
    return res.end()
  }
  let body = ""
  req.on("data", (chunk) => (body += chunk))
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end(`ok:${body}`)
  })
}

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "svc", handler: echo })
  other = await emulator.cloudRun.deploy({ name: "other", handler: echo })
  forbidden = await emulator.cloudRun.deploy({ name: "forbidden", handler: echo, invokers: ["someone@else.com"] })
})
beforeEach(() => {
  seen.length = 0
})

const layer = Layer.mergeAll(
  AuthService.layer({ projectId: "emulator-project", clientOptions: {} }),
  FetchHttpClient.layer
)

const run = <A, E>(
  f: (
    client: HttpClient.HttpClient.With<unknown, AuthService.AuthService>
  ) => Effect.Effect<A, E, AuthService.AuthService>,
  target?: Parameters<typeof AuthHttpClient.withAuth>[0]
) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(
        AuthHttpClient.withAuth(target ?? { kind: "id", audience: service.url })
      )
      return yield* f(client)
    }).pipe(Effect.provide(layer))
  )

describe("AuthHttpClient.withAuth", () => {
  it("signs requests to the audience's origin with an ID token the front door accepts", async () => {
    const text = await run((client) => Effect.flatMap(client.get(`${service.url}/x`), (r) => r.text))
    expect(text).toBe("ok:")
    expect(emulator.controls.count("cloudrun:svc")).toBe(1)
  })

  it("puts the token in X-Serverless-Authorization when asked", async () => {
    const status = await run(
      (client) => Effect.map(client.get(service.url), (r) => r.status),
      { kind: "id", audience: service.url, header: "X-Serverless-Authorization" }
    )
    expect(status).toBe(200)
    expect(seen[0]?.["x-serverless-authorization"]).toMatch(
      /^Bearer eyJ[\w-]+\.[\w-]+(\.SIGNATURE_REMOVED_BY_GOOGLE)?$/
    ) // signature stripped by Cloud Run
    expect(seen[0]?.["authorization"]).toBeUndefined()
  })

  it("never sends the token to another origin", async () => {
    const status = await run((client) => Effect.map(client.get(other.url), (r) => r.status))
    expect(status).toBe(401)
    expect(emulator.controls.log.filter((l) => l.endpoint === "cloudrun:other").every((l) => l.principal === undefined))
      .toBe(true)
  })

  it("a 401 for an expired token: invalidated and replayed exactly once, with the body", async () => {
    // Warm the cache, then move the emulator's clock past the token's expiry.
    await run((client) =>
      Effect.gen(function*() {
        yield* client.get(service.url)
        emulator.controls.setClockOffset(2 * 3600 * 1000)
        const response = yield* client.execute(
          HttpClientRequest.post(service.url).pipe(HttpClientRequest.bodyText("hi"))
        )
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("ok:hi")
      })
    )
    expect(emulator.controls.count("cloudrun:svc")).toBe(3) // warm-up, rejected, replay
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("a 403 is not replayed", async () => {
    const status = await run(
      (client) => Effect.map(client.get(forbidden.url), (r) => r.status),
      { kind: "id", audience: forbidden.url }
    )
    expect(status).toBe(403)
    expect(emulator.controls.count("cloudrun:forbidden")).toBe(1)
    expect(emulator.controls.count("metadata.identity")).toBe(1)
  })

  it("a streamed body within replayBufferBytes is kept while sent and replayed after a 401", async () => {
    await run((client) =>
      Effect.gen(function*() {
        yield* client.get(service.url)
        emulator.controls.setClockOffset(2 * 3600 * 1000)
        const request = HttpClientRequest.post(service.url).pipe(
          HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("on"), new TextEncoder().encode("ce")))
        )
        const response = yield* client.execute(request)
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("ok:once")
      })
    )
    expect(emulator.controls.count("cloudrun:svc")).toBe(3) // warm-up, rejected, replay
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("a streamed body over replayBufferBytes is not replayed, but the rejected token is still dropped", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.withAuth({ kind: "id", audience: service.url }, { replayBufferBytes: 3 })
        )
        yield* client.get(service.url)
        emulator.controls.setClockOffset(2 * 3600 * 1000)
        const request = HttpClientRequest.post(service.url).pipe(
          HttpClientRequest.bodyStream(Stream.make(new TextEncoder().encode("once")))
        )
        const response = yield* client.execute(request)
        expect(response.status).toBe(401)
        // The next call fetches a fresh token instead of sending the rejected one again.
        expect((yield* client.get(service.url)).status).toBe(200)
      }).pipe(Effect.provide(layer))
    )
    expect(emulator.controls.count("cloudrun:svc")).toBe(3)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })
})

describe("AuthHttpClient errors", () => {
  it("a transport error does not carry the token in X-Serverless-Authorization", async () => {
    const closed = "http://127.0.0.1:9" // discard port: nothing listens
    const error = await Effect.runPromise(
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.withAuth(
            { kind: "id", audience: service.url, header: "X-Serverless-Authorization" },
            { origins: [closed] }
          )
        )
        return yield* Effect.flip(client.get(`${closed}/x`))
      }).pipe(Effect.provide(layer))
    )
    expect(error._tag).toBe("RequestError")
    const printed = `${String(error)} ${JSON.stringify(error)} ${Inspectable.format(error)}`
    expect(printed).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/)
  })
})

describe("AuthHttpClient with the client's own preprocessing", () => {
  it("a relative base URL is prepended once per hop: a same-origin 307 is followed, signed, body kept", async () => {
    const text = await Effect.runPromise(
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpClient.mapRequest(HttpClientRequest.prependUrl(service.url)),
          AuthHttpClient.withAuth({ kind: "id", audience: service.url })
        )
        const response = yield* client.execute(
          HttpClientRequest.post("/start").pipe(HttpClientRequest.bodyText("kept"))
        )
        return yield* response.text
      }).pipe(Effect.provide(layer))
    )
    expect(text).toBe("ok:kept")
    expect(seen).toHaveLength(2)
    expect(emulator.controls.log.filter((l) => l.endpoint === "cloudrun:svc").map((l) => l.detail))
      .toEqual(["POST /start", "POST /echo"])
  })
})

describe("AuthHttpClient.mayReceive", () => {
  it("never to a URL with userinfo, never over plain http off loopback, even when listed", () => {
    const id = { kind: "id", audience: "https://svc-abc-uc.a.run.app" } as const
    expect(AuthHttpClient.mayReceive(id, "https://user:pw@svc-abc-uc.a.run.app/x")).toBe(false)
    expect(AuthHttpClient.mayReceive(id, "https://user@svc-abc-uc.a.run.app/x")).toBe(false)
    const access = { kind: "access" } as const
    expect(AuthHttpClient.mayReceive(access, "http://10.0.0.5:8080/v1", { origins: ["http://10.0.0.5:8080"] })).toBe(
      false
    )
    expect(AuthHttpClient.mayReceive(access, "http://gemini.internal/v1", { origins: ["http://gemini.internal"] }))
      .toBe(false)
    expect(AuthHttpClient.mayReceive(access, "http://127.0.0.2:8080/v1", { origins: ["http://127.0.0.2:8080"] })).toBe(
      true
    )
    expect(AuthHttpClient.mayReceive(access, "http://localhost:8080/v1", { origins: ["http://localhost:8080"] })).toBe(
      true
    )
    expect(AuthHttpClient.mayReceive(access, "http://[::1]:8080/v1", { origins: ["http://[::1]:8080"] })).toBe(true)
    expect(AuthHttpClient.mayReceive(access, "https://10.0.0.5:8443/v1", { origins: ["https://10.0.0.5:8443"] })).toBe(
      true
    )
  })

  it("access tokens only to https Google API hosts and configured origins", () => {
    const access = { kind: "access" } as const
    expect(AuthHttpClient.mayReceive(access, "https://aiplatform.googleapis.com/v1/x")).toBe(true)
    expect(AuthHttpClient.mayReceive(access, "https://us-central1-aiplatform.googleapis.com/v1")).toBe(true)
    expect(AuthHttpClient.mayReceive(access, "http://aiplatform.googleapis.com/v1")).toBe(false)
    expect(AuthHttpClient.mayReceive(access, "https://googleapis.com.evil.example/v1")).toBe(false)
    expect(AuthHttpClient.mayReceive(access, "https://svc.a.run.app")).toBe(false)
    expect(AuthHttpClient.mayReceive(access, "http://127.0.0.1:9000/v1", { origins: ["http://127.0.0.1:9000"] })).toBe(
      true
    )
  })

  it("ID tokens only to the audience's origin and configured origins", () => {
    const id = { kind: "id", audience: "https://svc-abc-uc.a.run.app" } as const
    expect(AuthHttpClient.mayReceive(id, "https://svc-abc-uc.a.run.app/api/chat")).toBe(true)
    expect(AuthHttpClient.mayReceive(id, "https://other-abc-uc.a.run.app/api/chat")).toBe(false)
    expect(AuthHttpClient.mayReceive(id, "not a url")).toBe(false)
    const custom = { kind: "id", audience: "my-audience" } as const
    expect(AuthHttpClient.mayReceive(custom, "https://svc-abc-uc.a.run.app")).toBe(false)
    expect(
      AuthHttpClient.mayReceive(custom, "https://svc-abc-uc.a.run.app", { origins: ["https://svc-abc-uc.a.run.app"] })
    )
      .toBe(true)
  })
})

describe("AuthHttpClient over a FetchHttpClient layer with its own RequestInit", () => {
  it("the layer's RequestInit reaches fetch on signed calls, and a cross-origin redirect is still ours to follow (no token to the other origin)", async () => {
    const hopper = await emulator.cloudRun.deploy({
      name: "hopper",
      handler: (req, res) => {
        seen.push(req.headers)
        res.writeHead(307, { location: `${other.url}/echo` })
        res.end()
      }
    })
    // Given only to the client layer, as `redirect: "follow"` with a header of its own.
    const fetchWithInit = FetchHttpClient.layer.pipe(
      Layer.provide(
        Layer.succeed(FetchHttpClient.RequestInit, { headers: { "x-from-layer": "kept" }, redirect: "follow" })
      )
    )
    const status = await Effect.runPromise(
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          AuthHttpClient.withAuth({ kind: "id", audience: hopper.url, header: "X-Serverless-Authorization" })
        )
        const response = yield* client.get(`${hopper.url}/start`)
        return response.status
      }).pipe(
        Effect.provide(
          Layer.mergeAll(AuthService.layer({ projectId: "emulator-project", clientOptions: {} }), fetchWithInit)
        )
      )
    )
    expect(status).toBe(401)
    // hopper's handler saw the layer's header; the other origin's front door refused the
    // unsigned hop before its handler
    expect(seen.map((headers) => headers["x-from-layer"])).toEqual(["kept"])
    const hops = emulator.controls.log.filter((l) =>
      l.endpoint === "cloudrun:hopper" || l.endpoint === "cloudrun:other"
    )
    expect(hops.map((l) => [l.endpoint, l.principal !== undefined])).toEqual([
      ["cloudrun:hopper", true],
      ["cloudrun:other", false]
    ])
  })
})
