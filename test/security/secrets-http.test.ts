/**
 * No secret in anything a user could print on the HTTP layer: `AuthHttpClient.withAuth`
 * (ID token in `Authorization` or `X-Serverless-Authorization`, on fetch and undici)
 * followed by `filterStatusOk` on an app 403 / 500, by `schemaBodyJson` on a non-JSON
 * 200, by `followRedirects` towards another origin, on a connection reset, and on
 * success; `SigningFetch` rejecting (reset, no token) and resolving; `SigningProxy`
 * with its upstream down, resetting, and answering. Searched: errors in every form, the
 * exit, Debug logs, console, spans, and what the proxy answers its caller.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Http from "node:http"
import * as AuthService from "../../src/auth/AuthService.js"
import type { TokenTarget } from "../../src/auth/TokenTarget.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import * as ProxyConfig from "../../src/proxy/ProxyConfig.js"
import * as SigningProxy from "../../src/proxy/SigningProxy.js"
import { errorForms, httpClients, leakReport, observe, serve, type Served, useWorld } from "./support.js"

const world = useWorld()
const emulator = world.emulator

/** The app behind the front door: what the current cell asks of it. */
type Answer = "ok" | "403" | "500" | "non-json" | "reset" | "redirect"
let answer: Answer = "ok"
let elsewhere: Served

const app: Http.RequestListener = (req, res) => {
  req.resume()
  switch (answer) {
    case "ok":
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ ok: true }))
    case "403":
      res.writeHead(403, { "content-type": "application/json" })
      return res.end(JSON.stringify({ error: "the app says no" }))
    case "500":
      res.writeHead(500, { "content-type": "text/plain" })
      return res.end("app crashed")
    case "non-json":
      res.writeHead(200, { "content-type": "application/json" })
      return res.end("<html>not json</html>")
    case "reset":
      return req.socket.destroy()
    case "redirect":
      res.writeHead(302, { location: `${elsewhere.url}/moved` })
      return res.end()
  }
}

let service: string

beforeAll(async () => {
  service = (await emulator.cloudRun.deploy({ name: "app", handler: app })).url
  elsewhere = await serve((req, res) => {
    req.resume()
    res.writeHead(404, { "content-type": "application/json" })
    res.end("{}")
  }, { secrets: world.secrets })
  return elsewhere.close
})

const headers = ["Authorization", "X-Serverless-Authorization"] as const
const targetOf = (header: (typeof headers)[number]): TokenTarget => ({ kind: "id", audience: service, header })

const Ok = Schema.Struct({ ok: Schema.Boolean })

interface ClientCase {
  readonly name: string
  readonly answer: Answer
  readonly succeeds: boolean
  readonly use: (
    client: HttpClient.HttpClient.With<unknown, never>
  ) => Effect.Effect<unknown, unknown>
}

const clientCases: ReadonlyArray<ClientCase> = [
  { name: "success", answer: "ok", succeeds: true, use: (c) => Effect.flatMap(c.get(`${service}/x`), (r) => r.json) },
  {
    name: "filterStatusOk on an app 403",
    answer: "403",
    succeeds: false,
    use: (c) => HttpClient.filterStatusOk(c).get(`${service}/x`)
  },
  {
    name: "filterStatusOk on an app 500",
    answer: "500",
    succeeds: false,
    use: (c) => HttpClient.filterStatusOk(c).get(`${service}/x`)
  },
  {
    name: "schemaBodyJson on a non-JSON 200 (decode)",
    answer: "non-json",
    succeeds: false,
    use: (c) => Effect.flatMap(c.post(`${service}/x`), HttpClientResponse.schemaBodyJson(Ok))
  },
  { name: "connection reset (transport)", answer: "reset", succeeds: false, use: (c) => c.get(`${service}/x`) },
  {
    name: "followRedirects to another origin, then filterStatusOk",
    answer: "redirect",
    succeeds: false,
    use: (c) => HttpClient.filterStatusOk(HttpClient.followRedirects(c)).get(`${service}/x`)
  }
]

describe.each(headers)("AuthHttpClient.withAuth, token in %s", (header) => {
  describe.each(["fetch", "undici", "undici-lean"] as const)("on %s", (client) => {
    it.effect.each(clientCases)("$name: no secret in any printed form", (cell) =>
      Effect.gen(function*() {
        answer = cell.answer
        const program = Effect.gen(function*() {
          const auth = yield* AuthService.AuthService
          const signed = (yield* HttpClient.HttpClient).pipe(AuthHttpClient.sign(auth, targetOf(header)))
          return yield* cell.use(signed)
        }).pipe(Effect.provide(Layer.mergeAll(Layer.orDie(world.auth()), httpClients[client])))
        const observed = yield* observe(program, world)
        answer = "ok"
        expect(Exit.isSuccess(observed.exit)).toBe(cell.succeeds)
        expect(world.secrets.count("id-token")).toBeGreaterThan(0)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      }))
  })
})

describe.each(headers)("SigningFetch, token in %s", (header) => {
  const fetchCases = [
    { name: "success", answer: "ok" as const, fault: false },
    { name: "app 500 (resolves)", answer: "500" as const, fault: false },
    { name: "connection reset (rejects)", answer: "reset" as const, fault: false },
    { name: "no token: metadata identity 500 (rejects)", answer: "ok" as const, fault: true }
  ]
  it.effect.each(fetchCases)(
    "$name: no secret in the rejection, the response or any log",
    (cell) =>
      Effect.gen(function*() {
        answer = cell.answer
        if (cell.fault) emulator.controls.fail("metadata.identity", { kind: "status", status: 500, body: "boom" })
        const program = Effect.gen(function*() {
          const signed = yield* SigningFetch.makeEffect({ targets: { [service]: targetOf(header) } })
          const outcome = yield* Effect.promise(() =>
            signed(`${service}/x`, { method: "POST", body: "hello" }).then(
              async (response) => ({
                ok: true as const,
                status: response.status,
                text: await response.text(),
                response
              }),
              (error: unknown) => ({ ok: false as const, error })
            )
          )
          return outcome
        }).pipe(Effect.provide(Layer.orDie(world.auth())))
        const observed = yield* observe(program, world)
        answer = "ok"
        emulator.controls.clearFailures()
        expect(Exit.isSuccess(observed.exit)).toBe(true)
        const outcome = Exit.isSuccess(observed.exit) ? observed.exit.value : undefined
        expect(outcome?.ok).toBe(cell.name !== "connection reset (rejects)" && !cell.fault)
        const forms = outcome === undefined || outcome.ok ? [] : errorForms("rejection", outcome.error)
        expect(leakReport(world.secrets, [...observed.forms, ...forms])).toBe("")
      })
  )
})

describe("SigningProxy", () => {
  const proxyCases = [
    { name: "upstream down (502)", upstream: () => "http://127.0.0.1:9", answer: "ok" as const },
    { name: "upstream resets the connection", upstream: () => service, answer: "reset" as const },
    { name: "upstream app 500", upstream: () => service, answer: "500" as const },
    { name: "success", upstream: () => service, answer: "ok" as const }
  ]
  describe.each(headers)("token in %s", (header) => {
    it.effect.each(proxyCases)("$name: no secret in the answer, logs or spans", (cell) =>
      Effect.gen(function*() {
        answer = cell.answer
        const program = Effect.gen(function*() {
          const config = yield* ProxyConfig.decode({
            port: 0,
            routes: [{ prefix: "/svc", upstream: cell.upstream(), header }]
          })
          const proxy = yield* SigningProxy.start(config)
          return yield* Effect.promise(async () => {
            const response = await fetch(`${proxy.url}/svc/hello`, { method: "POST", body: "payload" })
            return { status: response.status, headers: [...response.headers.entries()], body: await response.text() }
          })
        }).pipe(Effect.provide(Layer.mergeAll(Layer.orDie(world.auth()), httpClients.undici)))
        const observed = yield* observe(program, world)
        answer = "ok"
        expect(Exit.isSuccess(observed.exit)).toBe(true)
        const status = Exit.isSuccess(observed.exit) ? observed.exit.value.status : 0
        expect(status === 200).toBe(cell.name === "success")
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      }))
  })
})
