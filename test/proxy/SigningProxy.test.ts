import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Net from "node:net"
import { Ollama } from "ollama"
import * as AuthService from "../../src/auth/AuthService.js"
import * as ProxyConfig from "../../src/proxy/ProxyConfig.js"
import * as SigningProxy from "../../src/proxy/SigningProxy.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as Loopback from "../../src/testing/Loopback.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let echo: Emulator.CloudRunService
let streaming: Emulator.CloudRunService
let gemma: Emulator.CloudRunService
let releaseStream: () => void = () => {}

const echoHandler = (req: IncomingMessage, res: ServerResponse) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "echo" })
    res.end(JSON.stringify({
      method: req.method,
      url: req.url,
      authorization: req.headers["authorization"] ?? null,
      serverless: req.headers["x-serverless-authorization"] ?? null,
      body: Buffer.concat(chunks).toString("utf8")
    }))
  })
}

/** Sends the first chunk at once and the rest only when the test releases it. */
const streamHandler = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/x-ndjson" })
  res.write("{\"n\":1}\n")
  new Promise<void>((resolve) => {
    releaseStream = resolve
  }).then(() => res.end("{\"n\":2}\n"))
}

beforeAll(async () => {
  echo = await emulator.cloudRun.deploy({ name: "echo", handler: echoHandler })
  streaming = await emulator.cloudRun.deploy({ name: "stream", handler: streamHandler })
  gemma = await emulator.cloudRun.deploy({ name: "gemma", handler: OllamaEmulator.make().handler })
})

const layer = Layer.mergeAll(
  AuthService.layer({ projectId: "emulator-project", clientOptions: {} }),
  NodeHttpClient.layerUndici
)

const config = (extra: Record<string, unknown> = {}) =>
  ProxyConfig.decode({
    port: 0,
    routes: [
      { prefix: "/svc", upstream: echo.url },
      { prefix: "/app", upstream: echo.url, header: "X-Serverless-Authorization", forwardAuthorization: true },
      { prefix: "/stream", upstream: streaming.url },
      { prefix: "/ollama", upstream: gemma.url }
    ],
    ...extra
  })

/** Runs `f` with a proxy in its own scope. */
const withProxy = <A>(f: (url: string) => Promise<A>, extra?: Record<string, unknown>) =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const proxy = yield* SigningProxy.start(yield* config(extra))
      return yield* Effect.promise(() => f(proxy.url))
    })).pipe(Effect.provide(layer))
  )

/** A raw HTTP/1.1 exchange, for requests fetch will not send. */
const raw = (url: string, text: string) =>
  new Promise<string>((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = Net.connect(Number(port), hostname, () => socket.write(text))
    let out = ""
    socket.on("data", (d) => (out += d.toString()))
    socket.on("close", () => resolve(out))
    socket.on("error", () => resolve(out))
    socket.setTimeout(2000, () => socket.destroy())
  })

describe("SigningProxy", () => {
  it("forwards to the route's upstream with an ID token; the caller's Authorization stays behind", async () => {
    const body = await withProxy(async (url) => {
      const response = await fetch(`${url}/svc/hello?x=1`, { headers: { authorization: "Bearer app-key" } })
      expect(response.status).toBe(200)
      expect(response.headers.get("x-upstream")).toBe("echo")
      return (await response.json()) as Record<string, string | null>
    })
    expect(body["url"]).toBe("/hello?x=1")
    expect(body["authorization"]).toMatch(/^Bearer eyJ/) // our ID token (signature stripped by Cloud Run)
    expect(body["authorization"]).not.toContain("app-key")
  })

  it("a route with forwardAuthorization keeps the app's Authorization and signs X-Serverless-Authorization", async () => {
    const body = await withProxy(async (url) => {
      const response = await fetch(`${url}/app/x`, { headers: { authorization: "Bearer app-key" } })
      return (await response.json()) as Record<string, string | null>
    })
    expect(body["authorization"]).toBe("Bearer app-key")
    expect(body["serverless"]).toMatch(/^Bearer eyJ/)
  })

  it("a 401 for an expired token is replayed once with the body", async () => {
    const body = await withProxy(async (url) => {
      await fetch(`${url}/svc/warm`)
      emulator.controls.setClockOffset(2 * 3600 * 1000)
      const response = await fetch(`${url}/svc/post`, { method: "POST", body: "payload" })
      expect(response.status).toBe(200)
      return (await response.json()) as Record<string, string>
    })
    expect(body["body"]).toBe("payload")
    expect(emulator.controls.count("cloudrun:echo")).toBe(3)
  })

  it("streams the response: the first line arrives before the upstream has finished", async () => {
    await withProxy(async (url) => {
      const response = await fetch(`${url}/stream`)
      const reader = response.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value)).toBe("{\"n\":1}\n")
      releaseStream()
      let rest = ""
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value)
      }
      expect(rest).toBe("{\"n\":2}\n")
    })
  })

  it("the real ollama client talks to Gemma on Cloud Run through the proxy, streaming", async () => {
    const parts = await withProxy(async (url) => {
      const ollama = new Ollama({ host: `${url}/ollama` })
      const stream = await ollama.chat({
        model: "gemma3:4b",
        messages: [{ role: "user", content: "hi" }],
        stream: true
      })
      const out: Array<string> = []
      for await (const part of stream) out.push(part.message.content)
      return out
    })
    expect(parts.length).toBeGreaterThan(1)
    expect(emulator.controls.count("cloudrun:gemma")).toBe(1)
  })

  it("health endpoint, unknown routes, absolute-URI and CONNECT requests", async () => {
    await withProxy(async (url) => {
      const health = await fetch(`${url}/healthz`)
      expect(await health.json()).toEqual({ status: "ok", routes: ["/svc", "/app", "/stream", "/ollama"] })
      expect((await fetch(`${url}/nope`)).status).toBe(404)
      expect((await fetch(`${url}/svcx`)).status).toBe(404) // prefixes match whole segments
      const absolute = await raw(
        url,
        "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
      )
      expect(absolute).toMatch(/^HTTP\/1\.1 400/)
      const connect = await raw(url, "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n")
      expect(connect).not.toMatch(/^HTTP\/1\.1 200/)
    })
    expect(emulator.controls.log.every((l) => !(l.detail ?? "").includes("evil"))).toBe(true)
  })

  it("limits: a body over the limit gets 413, a head over the limit 431, nothing reaches the upstream", async () => {
    await withProxy(async (url) => {
      const big = await fetch(`${url}/svc/x`, { method: "POST", body: "x".repeat(2048) })
      expect(big.status).toBe(413)
      const head = await fetch(`${url}/svc/x`, { headers: { "x-big": "y".repeat(4096) } })
      expect(head.status).toBe(431)
    }, { maxBodyBytes: 1024, maxHeaderBytes: 2048 })
    expect(emulator.controls.count("cloudrun:echo")).toBe(0)
  })

  it("graceful shutdown: a request in flight finishes after the proxy is told to stop", async () => {
    const scope = await Effect.runPromise(Scope.make())
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
    const proxy = await Effect.runPromise(
      Effect.flatMap(config(), SigningProxy.start).pipe(Scope.extend(scope), Effect.provide(context))
    )
    const response = await fetch(`${proxy.url}/stream`)
    const reader = response.body!.getReader()
    await reader.read()
    const closing = Effect.runPromise(Scope.close(scope, Exit.void))
    releaseStream()
    let rest = ""
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value)
    }
    expect(rest).toBe("{\"n\":2}\n")
    await closing
    await expect(fetch(`${proxy.url}/healthz`)).rejects.toThrow()
  })
})

describe("SigningProxy: layer, handler, listen errors", () => {
  it("layer: the proxy listens while the layer lives and stops with it", async () => {
    const cfg = await Effect.runPromise(config())
    const url = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const proxy = yield* SigningProxy.SigningProxy
          const health = yield* Effect.promise(() => fetch(`${proxy.url}/healthz`))
          expect(health.status).toBe(200)
          return proxy.url
        }).pipe(Effect.provide(SigningProxy.layer(cfg).pipe(Layer.provide(layer))))
      )
    )
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
  })

  it("makeHandler: the data plane mounted on a server of our own signs and forwards", async () => {
    const body = await Effect.runPromise(
      Effect.scoped(Effect.gen(function*() {
        const handler = yield* SigningProxy.makeHandler(yield* config())
        const server = yield* Loopback.make((req, res) => handler(req, res))
        return yield* Effect.promise(async () => {
          const response = await fetch(`${server.url}/svc/mounted`, { headers: { connection: "close" } })
          return (await response.json()) as Record<string, string | null>
        })
      })).pipe(Effect.provide(layer))
    )
    expect(body["url"]).toBe("/mounted")
    expect(body["authorization"]).toMatch(/^Bearer eyJ/)
  })

  it("a port in use: ProxyListenFailed with EADDRINUSE and what to do", async () => {
    const taken = Net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const { port } = taken.address() as Net.AddressInfo
    try {
      const error = await Effect.runPromise(
        Effect.scoped(Effect.flip(Effect.flatMap(config({ port }), (c) => SigningProxy.make(c)))).pipe(
          Effect.provide(layer)
        )
      )
      expect(error._tag).toBe("ProxyListenFailed")
      if (!SigningProxy.isProxyListenFailed(error)) throw error
      expect(error.code).toBe("EADDRINUSE")
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(error.message).toContain("--port")
    } finally {
      taken.close()
    }
  })
})

describe("ProxyConfig", () => {
  it.effect("binding beyond loopback needs allowNonLoopback", () =>
    Effect.gen(function*() {
      const routes = [{ prefix: "/a", upstream: "https://a-abc-uc.a.run.app" }]
      const error = yield* Effect.flip(ProxyConfig.decode({ host: "0.0.0.0", routes }))
      expect(error.message).toContain("--allow-non-loopback")
      const ok = yield* ProxyConfig.decode({ host: "0.0.0.0", allowNonLoopback: true, routes })
      expect(ok.host).toBe("0.0.0.0")
    }))

  it.effect("rejects non-https upstreams, unknown fields, and forwardAuthorization without X-Serverless-Authorization", () =>
    Effect.gen(function*() {
      for (
        const input of [
          { routes: [{ prefix: "/a", upstream: "http://example.com" }] },
          { routes: [{ prefix: "/a", upstream: "https://x.a.run.app", extra: 1 }] },
          { routes: [{ prefix: "/a", upstream: "https://x.a.run.app", forwardAuthorization: true }] },
          { routes: [] },
          { routes: [{ prefix: "a", upstream: "https://x.a.run.app" }] },
          { routes: [{ prefix: "/a", upstream: "https://x.a.run.app", responseTimeoutMs: 5 }] },
          { responseTimeoutMs: 0, routes: [{ prefix: "/a", upstream: "https://x.a.run.app" }] },
          { idleTimeoutMs: -1, routes: [{ prefix: "/a", upstream: "https://x.a.run.app" }] }
        ]
      ) {
        const error = yield* Effect.flip(ProxyConfig.decode(input))
        expect(error._tag).toBe("ProxyConfigInvalid")
      }
    }))

  it.effect("an upstream with user info, a query or a fragment is refused, and its secret is not repeated", () =>
    Effect.gen(function*() {
      for (
        const upstream of [
          "https://user:s3cret@x.a.run.app",
          "https://x.a.run.app/?key=s3cret",
          "https://x.a.run.app/#s3cret"
        ]
      ) {
        const error = yield* Effect.flip(ProxyConfig.decode({ routes: [{ prefix: "/a", upstream }] }))
        expect(error.message).toContain("without user info, query or fragment")
        expect(error.message).not.toContain("s3cret")
      }
    }))

  it.effect("parses --route flags", () =>
    Effect.gen(function*() {
      expect(yield* ProxyConfig.parseRouteFlag("/gemma=https://g.a.run.app,id,header=X-Serverless-Authorization"))
        .toEqual({
          prefix: "/gemma",
          upstream: "https://g.a.run.app",
          kind: "id",
          header: "X-Serverless-Authorization"
        })
      const error = yield* Effect.flip(ProxyConfig.parseRouteFlag("gemma"))
      expect(error.message).toContain("/prefix=upstream")
    }))

  it("targets: access for googleapis upstreams, ID token for the upstream's origin otherwise", () => {
    const target = (upstream: string) => SigningProxy.targetOf(new ProxyConfig.Route({ prefix: "/x", upstream }))
    expect(target("https://aiplatform.googleapis.com/v1")).toEqual({ kind: "access", scopes: undefined })
    expect(target("https://g-abc-uc.a.run.app/api")).toEqual({
      kind: "id",
      audience: "https://g-abc-uc.a.run.app",
      header: undefined
    })
  })
})
