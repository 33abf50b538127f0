/**
 * Origin confinement of every model backend: each backend variant (both Gemini
 * backends with an access token, Gemini on a Cloud Run URL, Ollama and the
 * OpenAI-compatible backend with the ID token in `Authorization` or in
 * `X-Serverless-Authorization`, with and without the vLLM API key) on fetch and on
 * undici, its base URL a loopback server (the minted origin) that answers 301 / 302 /
 * 303 / 307 / 308 towards another origin. Every header at every loopback server is
 * recorded; a request that reaches an origin other than the minted one carrying a token
 * (or the API key) is a delivery, and there must be none. The minted origin itself
 * must have received the token (the cell can see a delivery). Access tokens reach
 * loopback only because the minted origin is a configured extra origin (`origins`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type * as Http from "node:http"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import {
  backendLayer,
  type BackendName,
  backends,
  httpClients,
  modelOf,
  type Seen,
  serve,
  type Served,
  useSharedAuth,
  useWorld,
  vllmApiKey
} from "./support.js"

const world = useWorld()
const sharedAuth = useSharedAuth(world)

const statuses = [301, 302, 303, 307, 308] as const
const clients = ["fetch", "undici", "undici-lean"] as const

/** Where a cell's base URL is (the minted origin) and where its redirect points. */
interface Destination {
  readonly name: string
  readonly minted: () => string
  readonly to: () => string
}

let a: Served // http://127.0.0.1:A
let b: Served // http://127.0.0.1:B, another port
let c: Served // http://127.0.0.2:C, another host
let s: Served // https://127.0.0.1:S, the https origin of the downgrade
const all = () => [a, b, c, s]

const destinations: ReadonlyArray<Destination> = [
  { name: "other port", minted: () => a.url, to: () => b.url },
  { name: "other host (127.0.0.2)", minted: () => a.url, to: () => c.url },
  { name: "other name (localhost for 127.0.0.1)", minted: () => a.url, to: () => `http://localhost:${a.port}` },
  { name: "IP literal (127.0.0.1 for localhost)", minted: () => `http://localhost:${a.port}`, to: () => a.url },
  { name: "userinfo", minted: () => a.url, to: () => `http://user:pass@127.0.0.1:${b.port}` },
  { name: "http downgrade", minted: () => s.url, to: () => `http://127.0.0.1:${a.port}` }
]

/** The cell being run: the redirecting origin and its answer. */
let cell: { readonly minted: string; readonly status: number; readonly to: string } | undefined

/** Redirect every request addressed to the minted origin; elsewhere answer a JSON 404 ("landed"). */
const redirector = (scheme: "http" | "https"): Http.RequestListener => (req, res) => {
  req.resume()
  req.on("end", () => {
    const origin = `${scheme}://${req.headers.host ?? ""}`
    if (cell !== undefined && origin === cell.minted) {
      res.writeHead(cell.status, { location: `${cell.to}/landed${req.url ?? "/"}`, "content-length": "0" })
      return res.end()
    }
    res.writeHead(404, { "content-type": "application/json" })
    res.end(JSON.stringify({ error: { code: 404, message: "landed", status: "NOT_FOUND" } }))
  })
}

beforeAll(async () => {
  a = await serve(redirector("http"), { secrets: world.secrets })
  b = await serve(redirector("http"), { secrets: world.secrets })
  c = await serve(redirector("http"), { host: "127.0.0.2", secrets: world.secrets })
  s = await serve(redirector("https"), { tls: true, secrets: world.secrets })
  world.secrets.add("api-key", Redacted.value(vllmApiKey))
  return async () => {
    await Promise.all(all().map((server) => server.close()))
  }
})

/** One runtime per (backend, client, minted origin) over one AuthService: each token is minted once. */
const runtimes = new Map<string, ManagedRuntime.ManagedRuntime<ModelService, never>>()
afterAll(async () => {
  await Promise.all([...runtimes.values()].map((runtime) => runtime.dispose()))
})

const runtimeFor = (backend: BackendName, client: (typeof clients)[number], minted: string) => {
  const key = `${backend} ${client} ${minted}`
  let runtime = runtimes.get(key)
  if (runtime === undefined) {
    runtime = ManagedRuntime.make(
      backendLayer(backend, { url: minted, retry: RetryPolicy.none }).pipe(
        Layer.provide(Layer.mergeAll(sharedAuth(), httpClients[client]))
      )
    )
    runtimes.set(key, runtime)
  }
  return runtime
}

/** The headers of a request that carry a secret: a token or the vLLM API key. */
const secretHeaders = (seen: Seen): ReadonlyArray<string> =>
  world.secrets.find(Object.entries(seen.headers).map(([name, value]) => ({ where: name, text: value })))
    .map((leak) => `${leak.where} (${leak.kind})`)

const totals = { cells: 0, deliveriesOutside: 0, failingCells: 0, requests: 0 }

describe.each(backends)("%s", (backend) => {
  describe.each(clients)("on %s", (client) => {
    describe.each(destinations)("redirect to $name", (destination) => {
      it.each(statuses)("%i: no token outside the minted origin", async (status) => {
        const minted = destination.minted()
        const marks = all().map((server) => server.seen.length)
        cell = { minted, status, to: destination.to() }
        const exit = await runtimeFor(backend, client, minted).runPromiseExit(
          Effect.flatMap(
            ModelService,
            (model) =>
              model.generate({ model: modelOf(backend), contents: [ModelRequest.user("where does my token go?")] })
          )
        )
        cell = undefined
        const seen = all().flatMap((server, i) => server.seen.slice(marks[i]))
        const inside = seen.filter((r) => r.origin === minted)
        const outside = seen.filter((r) => r.origin !== minted)
        const deliveries = outside.flatMap((r) => secretHeaders(r).map((h) => `${r.method} ${r.origin}${r.url}: ${h}`))
        totals.cells += 1
        totals.requests += seen.length
        totals.deliveriesOutside += deliveries.length
        if (deliveries.length > 0) totals.failingCells += 1
        // the call reached the minted origin with its token: this cell could see a delivery
        expect(inside.length, `no request reached ${minted}; exit ${Exit.isFailure(exit) ? "failure" : "success"}`)
          .toBeGreaterThan(0)
        expect(secretHeaders(inside[0]!).length).toBeGreaterThan(0)
        expect(deliveries).toEqual([])
      })
    })
  })
})

describe.each(["gemini-vertex", "gemini-api"] as const)("%s without a configured extra origin", (backend) => {
  it.each(clients)("on %s: no access token reaches a loopback base URL", async (client) => {
    const mark = a.seen.length
    const runtime = ManagedRuntime.make(
      backendLayer(backend, { url: a.url, origins: [], retry: RetryPolicy.none }).pipe(
        Layer.provide(Layer.mergeAll(sharedAuth(), httpClients[client]))
      )
    )
    const exit = await runtime.runPromiseExit(
      Effect.flatMap(
        ModelService,
        (model) => model.generate({ model: modelOf(backend), contents: [ModelRequest.user("no origin configured")] })
      )
    )
    await runtime.dispose()
    const seen = a.seen.slice(mark)
    // either refused before sending or sent unsigned; never signed
    expect(seen.flatMap(secretHeaders)).toEqual([])
    if (seen.length === 0) expect(Exit.isFailure(exit)).toBe(true)
  })
})

afterAll(() => {
  // The figures for docs/reliability.md ("Models: tokens stay at their origin").
  process.stdout.write(`[origin-model] ${JSON.stringify(totals)}\n`)
})
