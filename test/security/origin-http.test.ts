/**
 * Hostile origin matrix for the HTTP signing layer: does a token ever reach an origin
 * it was not minted for, through a redirect? Every loopback server records every header
 * it receives; a delivery outside the minted origin is any request there carrying the
 * token or the quota-project header we set.
 *
 * clients (SigningFetch; withAuth and sign on FetchHttpClient and on undici, each with
 * and without HttpClient.followRedirects() after the middleware) × token header ×
 * target kind × status 301/302/303/307/308 × destination.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as AuthService from "../../src/auth/AuthService.js"
import type { TokenTarget } from "../../src/auth/TokenTarget.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import { useEmulator } from "../support/emulator.js"
import { loopbackTls } from "../support/tls.js"

const emulator = useEmulator({ env: true })

interface Seen {
  readonly origin: string
  readonly headers: Http.IncomingHttpHeaders
}
/** Every request every server received, by the case it belongs to (`?case=` on each URL). */
const seen = new Map<string, Array<Seen>>()
const servers: Array<Http.Server> = []

const handler = (scheme: "http" | "https"): Http.RequestListener => (req, res) => {
  const url = new URL(req.url ?? "/", "http://x")
  const id = url.searchParams.get("case") ?? "none"
  seen.set(id, [...(seen.get(id) ?? []), { origin: `${scheme}://${req.headers.host ?? ""}`, headers: req.headers }])
  req.resume()
  req.on("end", () => {
    const status = /^\/r\/(\d{3})$/.exec(url.pathname)?.[1]
    if (status !== undefined) {
      res.writeHead(Number(status), { location: url.searchParams.get("to") ?? "/" })
      return res.end("moved")
    }
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok")
  })
}

const listen = async (server: Http.Server, host: string): Promise<number> => {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return (server.address() as AddressInfo).port
}

/** The minted origin (TLS) and the destinations a redirect from it may point at. */
let minted = ""
let destinations: ReadonlyArray<{ readonly name: string; readonly url: string; readonly sameOrigin: boolean }> = []

beforeAll(async () => {
  // Trusted for this file's process only (each test file runs in its own fork).
  const { cert, key } = loopbackTls({
    subject: "effect-adc test loopback",
    ipAddresses: ["127.0.0.1", "127.0.0.2"],
    trust: true
  })
  const tls = () => Https.createServer({ key, cert }, handler("https"))
  const main = await listen(tls(), "127.0.0.1")
  const otherPort = await listen(tls(), "127.0.0.1")
  const otherHost = await listen(tls(), "127.0.0.2")
  const plain = await listen(Http.createServer(handler("http")), "127.0.0.1")
  minted = `https://localhost:${main}`
  destinations = [
    { name: "same origin", url: `${minted}/final`, sameOrigin: true },
    { name: "other port", url: `https://localhost:${otherPort}/final`, sameOrigin: false },
    { name: "other host", url: `https://127.0.0.2:${otherHost}/final`, sameOrigin: false },
    { name: "http downgrade", url: `http://localhost:${plain}/final`, sameOrigin: false },
    { name: "userinfo", url: `https://user:secret@localhost:${main}/final`, sameOrigin: false },
    { name: "IP literal", url: `https://127.0.0.1:${main}/final`, sameOrigin: false }
  ]
})

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

const statuses = [301, 302, 303, 307, 308] as const
const headersOf = ["Authorization", "X-Serverless-Authorization"] as const
const kinds = ["access", "id"] as const

const targetOf = (kind: typeof kinds[number], header: typeof headersOf[number]): TokenTarget =>
  kind === "access"
    ? { kind: "access", quotaProject: "quota-project" }
    : { kind: "id", audience: minted, header }

/** One way of sending a POST that gets redirected: resolves when it settled (status or "error"). */
type Send = (target: TokenTarget, url: string) => Promise<string>

const authLayer = () => AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })

const effectClient = (
  base: Layer.Layer<HttpClient.HttpClient>,
  how: "withAuth" | "sign",
  follow: boolean,
  maxRedirects?: number
): { readonly send: Send; readonly close: () => Promise<void> } => {
  const runtime = ManagedRuntime.make(Layer.mergeAll(authLayer(), base))
  return {
    send: (target, url) =>
      runtime.runPromise(
        Effect.gen(function*() {
          const auth = yield* AuthService.AuthService
          const options = { origins: target.kind === "access" ? [minted] : [], maxRedirects }
          const signed = how === "withAuth"
            ? (yield* HttpClient.HttpClient).pipe(AuthHttpClient.withAuth(target, options))
            : (yield* HttpClient.HttpClient).pipe(AuthHttpClient.sign(auth, target, options))
          const client = follow ? HttpClient.followRedirects(signed) : signed
          const response = yield* client.execute(
            HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText("payload"))
          )
          yield* response.text
          return String(response.status)
        }).pipe(Effect.catchAll(() => Effect.succeed("error")))
      ),
    close: () => runtime.dispose()
  }
}

const signingFetchClient = (): { readonly send: Send; readonly close: () => Promise<void> } => {
  const runtime = ManagedRuntime.make(authLayer())
  return {
    send: async (target, url) => {
      const fetch = await runtime.runPromise(SigningFetch.makeEffect({ targets: { [minted]: target } }))
      try {
        const response = await fetch(url, { method: "POST", body: "payload" })
        await response.text()
        return String(response.status)
      } catch {
        return "error"
      }
    },
    close: () => runtime.dispose()
  }
}

const clients: ReadonlyArray<readonly [string, () => { readonly send: Send; readonly close: () => Promise<void> }]> = [
  ["SigningFetch", signingFetchClient],
  ["withAuth on fetch", () => effectClient(FetchHttpClient.layer, "withAuth", false)],
  ["withAuth on fetch + followRedirects", () => effectClient(FetchHttpClient.layer, "withAuth", true)],
  ["withAuth on undici", () => effectClient(NodeHttpClient.layerUndici, "withAuth", false)],
  ["withAuth on undici + followRedirects", () => effectClient(NodeHttpClient.layerUndici, "withAuth", true)],
  ["withAuth on UndiciHttpClient", () => effectClient(UndiciHttpClient.layer, "withAuth", false)],
  ["withAuth on UndiciHttpClient + followRedirects", () => effectClient(UndiciHttpClient.layer, "withAuth", true)],
  ["sign on fetch", () => effectClient(FetchHttpClient.layer, "sign", false)],
  ["sign on fetch + followRedirects", () => effectClient(FetchHttpClient.layer, "sign", true)],
  ["sign on undici", () => effectClient(NodeHttpClient.layerUndici, "sign", false)],
  ["sign on undici + followRedirects", () => effectClient(NodeHttpClient.layerUndici, "sign", true)],
  ["sign on UndiciHttpClient", () => effectClient(UndiciHttpClient.layer, "sign", false)],
  ["sign on UndiciHttpClient + followRedirects", () => effectClient(UndiciHttpClient.layer, "sign", true)],
  // The middleware hands every 3xx back (maxRedirects 0): Effect's followRedirects
  // follows them through the middleware, which judges each hop again.
  [
    "withAuth(maxRedirects: 0) on fetch + followRedirects",
    () => effectClient(FetchHttpClient.layer, "withAuth", true, 0)
  ],
  [
    "withAuth(maxRedirects: 0) on undici + followRedirects",
    () => effectClient(NodeHttpClient.layerUndici, "withAuth", true, 0)
  ]
]

/** Figures for docs/reliability.md, printed after the file. */
const figures = { cases: 0, requests: 0, outsideDeliveries: 0, sameOriginSigned: 0, sameOriginCases: 0 }

/**
 * Does this request carry a header we set? The clients add no credentials of their
 * own, so any token header (or our quota-project header) is ours.
 */
const carriesOurs = (headers: Http.IncomingHttpHeaders): boolean =>
  headers["authorization"] !== undefined || headers["x-serverless-authorization"] !== undefined ||
  headers["x-goog-user-project"] !== undefined

describe.each(clients)("%s: a token never follows a redirect off its origin", (_name, make) => {
  it("every target kind × header × status × destination", async () => {
    const client = make()
    const mismatches: Array<string> = []
    const cases = kinds.flatMap((kind) =>
      headersOf.flatMap((header) =>
        // Access tokens always travel in Authorization.
        kind === "access" && header === "X-Serverless-Authorization"
          ? []
          : statuses.flatMap((status) => destinations.map((destination) => ({ kind, header, status, destination })))
      )
    )
    const run = async ({ destination, header, kind, status }: typeof cases[number], index: number) => {
      const id = `${_name}/${index}`
      const to = `${destination.url}?case=${encodeURIComponent(id)}`
      const start = `${minted}/r/${status}?to=${encodeURIComponent(to)}&case=${encodeURIComponent(id)}`
      const outcome = await client.send(targetOf(kind, header), start)
      const requests = seen.get(id) ?? []
      figures.cases += 1
      figures.requests += requests.length
      const outside = requests.filter((s) => s.origin !== new URL(minted).origin && carriesOurs(s.headers))
      figures.outsideDeliveries += outside.length
      const label = `${kind}/${header}/${status}/${destination.name} → ${outcome}`
      if (outside.length > 0) mismatches.push(`${label}: delivered to ${outside.map((s) => s.origin).join(", ")}`)
      // The first hop always reaches the minted origin, signed.
      if (requests[0] === undefined || !carriesOurs(requests[0].headers)) {
        mismatches.push(`${label}: first hop unsigned`)
      }
      if (destination.sameOrigin) {
        figures.sameOriginCases += 1
        const final = requests[1]
        if (outcome === "200" && final !== undefined && carriesOurs(final.headers)) figures.sameOriginSigned += 1
        else mismatches.push(`${label}: same-origin hop not signed`)
      }
      // Every other redirect is followed (unsigned), except to a URL with userinfo,
      // which fetch refuses outright and undici sends unsigned.
      if (!destination.sameOrigin && outcome !== "200" && destination.name !== "userinfo") {
        mismatches.push(`${label}: the redirect was not followed`)
      }
    }
    try {
      // Eight cases in flight at a time: each case has its own id, so records do not mix.
      for (let i = 0; i < cases.length; i += 8) {
        await Promise.all(cases.slice(i, i + 8).map((c, j) => run(c, i + j)))
      }
    } finally {
      await client.close()
    }
    expect(mismatches).toEqual([])
  })
})

describe("the detector", () => {
  it("sees the leak of a hand-set X-Serverless-Authorization that fetch itself follows off-origin", async () => {
    const id = "control"
    const to = `${destinations[1]!.url}?case=${id}`
    const response = await fetch(`${minted}/r/302?to=${encodeURIComponent(to)}&case=${id}`, {
      headers: { "x-serverless-authorization": "Bearer not-a-real-token" }
    })
    await response.text()
    const requests = seen.get(id) ?? []
    expect(requests.filter((s) => s.origin !== new URL(minted).origin && carriesOurs(s.headers))).toHaveLength(1)
  })
})

afterAll(() => {
  // The figures of docs/reliability.md ("HTTP: tokens stay at their origin").
  console.log(`origin-http: ${JSON.stringify(figures)}`)
  expect(figures.outsideDeliveries).toBe(0)
})
