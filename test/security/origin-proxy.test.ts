/**
 * Origin binding through the signing proxy, attacked as a matrix: the route's upstream
 * (http, or https) answers every status of 301/302/303/307/308 with a `Location` to
 * another origin — another port, another host on the same port, plain http on the
 * upstream's own host and port (a downgrade), a URL with user info, IP literals — and
 * four kinds of client follow it (or not) from the proxy's answer. Every destination is
 * a live loopback server that records what reaches it.
 *
 * Promise: zero token deliveries outside the route's origin. The proxy never follows a
 * redirect (the upstream sees each request once, signed), hands the 3xx back as it came,
 * and the client that follows it has no token of ours to carry.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import type * as Http from "node:http"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import { Agent, interceptors, request as undiciRequest } from "undici"
import * as AuthService from "../../src/auth/AuthService.js"
import * as ProxyConfig from "../../src/proxy/ProxyConfig.js"
import * as SigningProxy from "../../src/proxy/SigningProxy.js"
import { curl, dualPort, loopbackTls, request, type Upstream, upstream, values } from "../proxy/harness.js"
import { useEmulator } from "../support/emulator.js"

useEmulator({ env: true })

const tls = loopbackTls()
const statuses = [301, 302, 303, 307, 308] as const
const jwt = /eyJ[\w-]+\.[\w-]+/

/** What reached a server: where, and whether any header carried a token. */
interface Hit {
  readonly where: string
  readonly token: boolean
}
const hits: Array<Hit> = []
const record = (where: string): Http.RequestListener => (req, res) => {
  hits.push({ where, token: req.rawHeaders.some((value) => jwt.test(value)) })
  req.resume()
  req.on("end", () => res.end("landed"))
}

interface Destination {
  readonly name: string
  readonly location: string
}

interface Setup {
  readonly proxyUrl: string
  readonly destinations: ReadonlyArray<Destination>
  readonly close: () => Promise<void>
}

const closers: Array<() => Promise<void>> = []
const scope = Effect.runSync(Scope.make())
let tmp = ""
let caFile = ""
const setups = new Map<"http" | "https", Setup>()

/** The route's upstream on `scheme`, the destination servers around it, and a proxy in front. */
const setUp = async (scheme: "http" | "https"): Promise<Setup> => {
  let destinations: Array<Destination> = []
  const redirecting: Http.RequestListener = (req, res) => {
    hits.push({ where: "origin", token: req.rawHeaders.some((value) => jwt.test(value)) })
    const [, , status, index] = (req.url ?? "").split("/")
    req.resume()
    req.on("end", () => {
      res.writeHead(Number(status), { location: destinations[Number(index)]!.location, "content-length": "0" })
      res.end()
    })
  }
  // The upstream's port also answers plain HTTP (recorded as a downgrade) when it is https.
  let originPort: number
  if (scheme === "https") {
    const dual = await dualPort(tls, redirecting, record("downgrade"))
    closers.push(dual.close)
    originPort = dual.port
  } else {
    const plain: Upstream = await upstream((req, res) => redirecting(req, res))
    closers.push(plain.close)
    originPort = plain.port
  }
  const serve = async (host: string, port: number, where: string, secure: boolean) => {
    const server: Upstream = await upstream((req, res) => record(where)(req, res), {
      host,
      port,
      ...(secure ? { tls } : {})
    })
    closers.push(server.close)
    return server.port
  }
  const secure = scheme === "https"
  const otherPort = await serve("127.0.0.1", 0, "other port", secure)
  await serve("127.0.0.2", originPort, "other host", secure)
  const v6 = await serve("::1", 0, "IP literal [::1]", false)
  destinations = [
    { name: "other port", location: `${scheme}://127.0.0.1:${otherPort}/landing` },
    { name: "other host, same port", location: `${scheme}://127.0.0.2:${originPort}/landing` },
    { name: "user info", location: `${scheme}://user:secret@127.0.0.1:${otherPort}/landing` },
    { name: "IP literal [::1]", location: `http://[::1]:${v6}/landing` },
    { name: "IP literal 127.1", location: `${scheme}://127.1:${otherPort}/landing` },
    ...(secure ? [{ name: "http downgrade", location: `http://127.0.0.1:${originPort}/landing` }] : [])
  ]
  const origin = `${scheme}://127.0.0.1:${originPort}`
  const agents = secure ? { https: new Https.Agent({ keepAlive: true, ca: tls.ca }) } : {}
  const proxy = await Effect.runPromise(
    Effect.gen(function*() {
      const context = yield* Layer.buildWithScope(
        AuthService.layer({ projectId: "emulator-project", clientOptions: {} }),
        scope
      )
      const config = yield* ProxyConfig.decode({ port: 0, routes: [{ prefix: "/svc", upstream: origin }] })
      return yield* SigningProxy.make(config, { agents }).pipe(Effect.provide(context), Scope.extend(scope))
    })
  )
  return { proxyUrl: proxy.url, destinations, close: async () => agents.https?.destroy() }
}

const trusting = new Agent({ connect: { ca: tls.ca } })

/** The clients of the proxy: each either follows the redirect itself or hands it back. */
const clients: ReadonlyArray<{
  readonly name: string
  readonly follows: boolean
  readonly send: (url: string) => Promise<{ readonly status: number; readonly location?: string | undefined }>
}> = [
  {
    name: "fetch, redirect: follow",
    follows: true,
    send: async (url) => {
      const response = await fetch(
        url,
        { method: "POST", body: "x", redirect: "follow", dispatcher: trusting } as RequestInit
      )
      await response.arrayBuffer()
      return { status: response.status }
    }
  },
  {
    name: "undici.request + redirect interceptor",
    follows: true,
    send: async (url) => {
      const response = await undiciRequest(url, {
        method: "POST",
        body: "x",
        dispatcher: trusting.compose(interceptors.redirect({ maxRedirections: 5 }))
      })
      await response.body.arrayBuffer()
      return { status: response.statusCode }
    }
  },
  {
    name: "curl -L",
    follows: true,
    send: async (url) => {
      const result = await curl(["-L", "--cacert", caFile, "-d", "x", "-o", "/dev/null", "-w", "%{http_code}", url])
      return { status: Number(result.stdout.toString()) }
    }
  },
  {
    name: "node:http (does not follow)",
    follows: false,
    send: async (url) => {
      const response = await request(url, { method: "POST", body: "x" })
      return { status: response.status, location: values(response.rawHeaders, "location")[0] }
    }
  }
]

beforeAll(async () => {
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "origin-proxy-"))
  caFile = Path.join(tmp, "ca.pem")
  Fs.writeFileSync(caFile, tls.ca)
  setups.set("http", await setUp("http"))
  setups.set("https", await setUp("https"))
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  for (const setup of setups.values()) await setup.close()
  for (const close of closers) await close()
  await trusting.close()
  Fs.rmSync(tmp, { recursive: true, force: true })
})

/** Figures for docs/reliability.md, printed once at the end. */
const totals = { cases: 0, originSigned: 0, landedElsewhere: 0, deliveriesElsewhere: 0 }
afterAll(() => {
  console.log(`origin-proxy: ${JSON.stringify(totals)}`)
})

describe.each(["http", "https"] as const)("upstream over %s", (scheme) => {
  describe.each(clients)("client: $name", (client) => {
    it.each(statuses)("%i to every other origin: the proxy hands it back, no token lands elsewhere", async (status) => {
      const setup = setups.get(scheme)!
      let landed = 0
      for (const [index, destination] of setup.destinations.entries()) {
        const before = hits.length
        const outcome = await client.send(`${setup.proxyUrl}/svc/r/${status}/${index}`).catch(() => undefined)
        const now = hits.slice(before)
        const origin = now.filter((hit) => hit.where === "origin")
        const elsewhere = now.filter((hit) => hit.where !== "origin")
        // The proxy asked the upstream once, signed, and did not follow.
        expect(origin, destination.name).toEqual([{ where: "origin", token: true }])
        expect(elsewhere.filter((hit) => hit.token), destination.name).toEqual([])
        if (!client.follows) {
          expect(outcome, destination.name).toEqual({ status, location: destination.location })
        }
        totals.cases += 1
        totals.originSigned += origin.length
        totals.landedElsewhere += elsewhere.length
        totals.deliveriesElsewhere += elsewhere.filter((hit) => hit.token).length
        landed += elsewhere.length
      }
      // The followers really went there (else this matrix would prove nothing).
      if (client.follows) expect(landed).toBeGreaterThanOrEqual(setup.destinations.length - 2)
      else expect(landed).toBe(0)
    })
  })
})
