import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as AuthService from "../../src/auth/AuthService.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let service: Emulator.CloudRunService
let forbidden: Emulator.CloudRunService
let outside: Loopback.LoopbackServer
/** Headers of every request the service's handler and the outside server saw. */
const seen: Array<{ where: "service" | "outside"; path: string; headers: Http.IncomingHttpHeaders }> = []

const readBody = (req: Http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => resolve(body))
  })

/** Resolved when the service's handler receives a request to /hang (which it never answers). */
let hanging: { promise: Promise<void>; resolve: () => void } | undefined
/** Called when the socket of a /hang request closes on the server side. */
let socketClosed: (() => void) | undefined

const handler = (where: "service" | "outside"): Http.RequestListener => async (req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname
  seen.push({ where, path, headers: req.headers })
  if (path === "/hang") {
    req.socket.on("close", () => socketClosed?.())
    return hanging?.resolve()
  }
  const body = await readBody(req)
  if (path === "/redirect-out") {
    res.writeHead(302, { location: `${outside.url}/landing` })
    return res.end()
  }
  if (path === "/redirect-listed") {
    res.writeHead(302, { location: `${forbidden.url}/echo` })
    return res.end()
  }
  if (path === "/redirect-in") {
    res.writeHead(307, { location: "/echo" })
    return res.end()
  }
  res.writeHead(200, { "content-type": "text/plain" })
  res.end(`${where}:${req.method}:${body}`)
}

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "svc", handler: handler("service") })
  forbidden = await emulator.cloudRun.deploy({
    name: "forbidden",
    handler: handler("service"),
    invokers: ["someone@else.com"]
  })
  outside = await Loopback.serve(handler("outside"))
})
afterAll(() => outside.close())

let auth: AuthClient.AuthClient
beforeEach(() => {
  seen.length = 0
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const signingFetch = () => SigningFetch.make(auth, { targets: { [service.url]: "id", [forbidden.url]: "id" } })

describe("SigningFetch", () => {
  it("signs a listed origin with an ID token the front door accepts, read per request, not at construction", async () => {
    const fetch = signingFetch()
    expect(emulator.controls.count("metadata.identity")).toBe(0)
    const response = await fetch(`${service.url}/echo`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe("service:GET:")
    await fetch(`${service.url}/echo`).then((r) => r.text())
    expect(emulator.controls.count("cloudrun:svc")).toBe(2)
    // One token fetch for both requests: the second came from the cache.
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    expect(seen[0]?.headers["authorization"]).toMatch(/^Bearer eyJ/)
  })

  it("leaves other origins unsigned and untouched", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${outside.url}/plain`, { headers: { "x-mine": "1" } })
    expect(await response.text()).toBe("outside:GET:")
    expect(seen[0]?.headers["authorization"]).toBeUndefined()
    expect(seen[0]?.headers["x-mine"]).toBe("1")
    expect(emulator.controls.count("metadata.identity")).toBe(0)
  })

  it("accepts a Request input: method, headers and body carried, token in X-Serverless-Authorization", async () => {
    const fetch = SigningFetch.make(auth, {
      targets: { [service.url]: { kind: "id", audience: service.url, header: "X-Serverless-Authorization" } }
    })
    const request = new Request(`${service.url}/echo`, {
      method: "POST",
      body: "hello",
      headers: { authorization: "Bearer app-own-key", "content-type": "text/plain" }
    })
    const response = await fetch(request)
    expect(await response.text()).toBe("service:POST:hello")
    expect(seen[0]?.headers["x-serverless-authorization"]).toMatch(/^Bearer eyJ/)
    // The app's own Authorization header is left alone.
    expect(seen[0]?.headers["authorization"]).toBe("Bearer app-own-key")
  })

  it("an aborted signal rejects before any token is fetched", async () => {
    const fetch = signingFetch()
    const controller = new AbortController()
    controller.abort(new Error("stop"))
    await expect(fetch(`${service.url}/echo`, { signal: controller.signal })).rejects.toThrow("stop")
    expect(emulator.controls.count("cloudrun:svc")).toBe(0)
    expect(emulator.controls.count("metadata.identity")).toBe(0)
  })

  it("the signal of a Request input reaches the wire: aborting mid-flight aborts the request", async () => {
    let resolve = () => {}
    hanging = { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() }
    const fetch = signingFetch()
    const controller = new AbortController()
    const pending = fetch(new Request(`${service.url}/hang`, { signal: controller.signal }))
    await hanging.promise
    const closed = new Promise<void>((resolve) => (socketClosed = resolve))
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    // The server sees its socket closed: nothing is left open behind the rejection.
    await closed
    expect(seen.map((s) => s.path)).toEqual(["/hang"])
  })

  it("makeEffect: aborting while the token is fetched interrupts the fetch and rejects at once", async () => {
    const controller = new AbortController()
    emulator.controls.fail("metadata.identity", { kind: "hang" }, 1)
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const fetch = yield* SigningFetch.makeEffect({ targets: { [service.url]: "id" } })
        const pending = fetch(`${service.url}/echo`, { signal: controller.signal })
        controller.abort(new Error("stop"))
        return yield* Effect.promise(() => pending.then(() => "resolved", (e: unknown) => String(e)))
      }).pipe(
        Effect.provide(AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }))
      )
    )
    expect(result).toBe("Error: stop")
    expect(emulator.controls.count("cloudrun:svc")).toBe(0)
  })

  it("a 401 for an expired token is recovered with exactly one replay, with the body", async () => {
    const fetch = signingFetch()
    await fetch(`${service.url}/echo`).then((r) => r.text())
    // The emulator's clock moves past the held token's expiry: the front door rejects it.
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    const response = await fetch(`${service.url}/echo`, { method: "POST", body: "again" })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe("service:POST:again")
    expect(emulator.controls.count("cloudrun:svc")).toBe(3) // warm-up, rejected, replay
    expect(emulator.controls.count("metadata.identity")).toBe(2)
    expect(emulator.controls.log.filter((l) => l.endpoint === "cloudrun:svc").map((l) => l.detail?.slice(0, 20)))
      .toEqual(["GET /echo", "rejected 401: expire", "POST /echo"])
  })

  it("a 403 is not replayed", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${forbidden.url}/echo`)
    expect(response.status).toBe(403)
    expect(emulator.controls.count("cloudrun:forbidden")).toBe(1)
    expect(emulator.controls.count("metadata.identity")).toBe(1)
  })

  const streamOf = (...parts: Array<string>) =>
    new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
        controller.close()
      }
    })

  it("a streamed body within replayBufferBytes is kept while sent and replayed after a 401", async () => {
    const fetch = signingFetch()
    await fetch(`${service.url}/echo`).then((r) => r.text())
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    const init: RequestInit & { duplex: "half" } = { method: "POST", body: streamOf("on", "ce"), duplex: "half" }
    const response = await fetch(`${service.url}/echo`, init)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe("service:POST:once")
    expect(emulator.controls.count("cloudrun:svc")).toBe(3)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("a streamed body over replayBufferBytes: the 401 comes back, the rejected token is still dropped", async () => {
    const fetch = SigningFetch.make(auth, { targets: { [service.url]: "id" }, replayBufferBytes: 3 })
    await fetch(`${service.url}/echo`).then((r) => r.text())
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    const init: RequestInit & { duplex: "half" } = { method: "POST", body: streamOf("once"), duplex: "half" }
    const response = await fetch(`${service.url}/echo`, init)
    expect(response.status).toBe(401)
    await response.text()
    expect((await fetch(`${service.url}/echo`)).status).toBe(200)
    expect(emulator.controls.count("cloudrun:svc")).toBe(3)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("a redirect to another origin does not carry the token", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${service.url}/redirect-out`)
    expect(await response.text()).toBe("outside:GET:")
    expect(response.url).toBe(`${outside.url}/landing`)
    expect(seen.map((s) => s.where)).toEqual(["service", "outside"])
    expect(seen[0]?.headers["authorization"]).toMatch(/^Bearer eyJ/)
    expect(seen[1]?.headers["authorization"]).toBeUndefined()
    expect(seen[1]?.headers["x-serverless-authorization"]).toBeUndefined()
  })

  it("a redirect to another listed origin carries that origin's own token, not the first one", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${service.url}/redirect-listed`)
    // The front door verified a token minted for its own audience (a token for svc
    // would be a 401 "wrong audience"); the 403 is the invoker check, not replayed.
    expect(response.status).toBe(403)
    expect(emulator.controls.log.filter((l) => l.endpoint === "cloudrun:forbidden").map((l) => l.detail))
      .toEqual(["rejected 403: not an invoker /echo"])
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("a redirect within the origin is followed with the token, a 307 keeps method and body", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${service.url}/redirect-in`, { method: "POST", body: "kept" })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe("service:POST:kept")
    expect(seen.map((s) => s.path)).toEqual(["/redirect-in", "/echo"])
  })

  it("redirect: manual is passed through", async () => {
    const fetch = signingFetch()
    const response = await fetch(`${service.url}/redirect-out`, { redirect: "manual" })
    expect(response.status).toBe(302)
    expect(seen.map((s) => s.where)).toEqual(["service"])
  })

  it("targetFor: listed origins, access tokens to Google API hosts, nothing else", () => {
    const targets = { "https://svc-abc-uc.a.run.app/mcp": "id", "https://aiplatform.googleapis.com": "access" } as const
    expect(SigningFetch.targetFor(targets, "https://svc-abc-uc.a.run.app/other"))
      .toEqual({ kind: "id", audience: "https://svc-abc-uc.a.run.app" })
    expect(SigningFetch.targetFor(targets, "https://us-central1-aiplatform.googleapis.com/v1")).toEqual({
      kind: "access"
    })
    expect(SigningFetch.targetFor(targets, "https://svc-abc-uc.a.run.app.evil.example/")).toBeUndefined()
    expect(SigningFetch.targetFor(targets, "http://aiplatform.googleapis.com/v1")).toBeUndefined()
  })

  it("makeEffect: the same fetch over the AuthService in context", async () => {
    const status = await Effect.runPromise(
      Effect.gen(function*() {
        const fetch = yield* SigningFetch.makeEffect({ targets: { [service.url]: "id" } })
        const first = yield* Effect.promise(() => fetch(`${service.url}/echo`))
        const second = yield* Effect.promise(() => fetch(`${service.url}/echo`))
        return [first.status, second.status]
      }).pipe(
        Effect.provide(AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }))
      )
    )
    expect(status).toEqual([200, 200])
    expect(emulator.controls.count("metadata.identity")).toBe(1)
  })
})
