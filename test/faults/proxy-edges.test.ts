/**
 * The proxy's edges, attacked over real loopback sockets (raw HTTP/1.1, curl, fetch,
 * node:http): Expect: 100-continue, repeated Set-Cookie, hop-by-hop and
 * Connection-named headers both ways, paths that try to leave a route's base path,
 * oversized bodies, clients that leave, the caller's own token headers, 401 replay of a
 * chunked body, stale pooled connections, and the upstream timeouts (TestClock).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AuthService from "../../src/auth/AuthService.js"
import * as ProxyConfig from "../../src/proxy/ProxyConfig.js"
import * as ProxyProblem from "../../src/proxy/ProxyProblem.js"
import * as SigningProxy from "../../src/proxy/SigningProxy.js"
import { curl, head, raw, request, type Upstream, upstream, values } from "../proxy/harness.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })

const auth = AuthService.layer({ projectId: "emulator-project", clientOptions: {} })

/** Runs `f` with a proxy whose only route `/svc` goes to `target` (its base path included). */
const withProxy = <A>(target: string, f: (url: string) => Promise<A>, extra: Record<string, unknown> = {}) =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const config = yield* ProxyConfig.decode({ port: 0, routes: [{ prefix: "/svc", upstream: target }], ...extra })
      const proxy = yield* SigningProxy.make(config)
      return yield* Effect.promise(() => f(proxy.url))
    })).pipe(Effect.provide(auth))
  )

const decodeProblem = (body: string | Buffer) =>
  Schema.decodeUnknownSync(ProxyProblem.ProxyProblem)(JSON.parse(body.toString()))

/** Answers with what it received: method, url, raw headers, body length and sha256. */
const echo = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  const hash = Crypto.createHash("sha256")
  let length = 0
  req.on("data", (c: Buffer) => {
    hash.update(c)
    length += c.length
  })
  req.on("end", () => {
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      rawHeaders: req.rawHeaders,
      length,
      sha256: hash.digest("hex")
    })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  })
}

let echoUp: Upstream
let tmp: string
beforeAll(async () => {
  echoUp = await upstream(echo)
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "proxy-edges-"))
})
afterAll(async () => {
  await echoUp.close()
  Fs.rmSync(tmp, { recursive: true, force: true })
})

describe("Expect: 100-continue (curl)", () => {
  const bodies = [
    {
      name: "2 MiB body, curl adds Expect itself",
      size: 2 * 1024 * 1024,
      expectHeader: false,
      limit: 32 * 1024 * 1024,
      status: 200
    },
    { name: "1 KiB body, Expect set by hand", size: 1024, expectHeader: true, limit: 32 * 1024 * 1024, status: 200 },
    {
      name: "2 MiB body over a 1 MiB limit",
      size: 2 * 1024 * 1024,
      expectHeader: false,
      limit: 1024 * 1024,
      status: 413
    }
  ]
  it.each(bodies)("$name → $status", async ({ expectHeader, limit, size, status }) => {
    const payload = Crypto.randomBytes(size)
    const file = Path.join(tmp, `body-${size}`)
    Fs.writeFileSync(file, payload)
    const before = echoUp.seen.length
    const result = await withProxy(echoUp.url, (url) =>
      curl([
        "-v",
        "--data-binary",
        `@${file}`,
        "-H",
        "content-type: application/octet-stream",
        ...(expectHeader ? ["-H", "Expect: 100-continue"] : []),
        `${url}/svc/upload`
      ]), { maxBodyBytes: limit })
    expect(result.stderr).toContain("> Expect: 100-continue")
    expect(result.stderr).toMatch(new RegExp(`< HTTP/1.1 ${status}`))
    if (status === 200) {
      expect(result.stderr).toContain("< HTTP/1.1 100 Continue")
      const seen = JSON.parse(result.stdout.toString())
      expect(seen).toMatchObject({ method: "POST", url: "/upload", length: size })
      expect(seen.sha256).toBe(Crypto.createHash("sha256").update(payload).digest("hex"))
      expect(values(seen.rawHeaders, "expect")).toEqual([])
    } else {
      expect(result.stderr).not.toContain("< HTTP/1.1 100 Continue")
      expect(decodeProblem(result.stdout)).toMatchObject({ reason: "body-too-large", status: 413, limitBytes: limit })
      expect(echoUp.seen.length).toBe(before)
    }
  })
})

describe("Set-Cookie", () => {
  it("three Set-Cookie headers from the upstream reach the client as three headers", async () => {
    const cookies = ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly", "c=3, d=4"]
    const up = await upstream((_req, res) => {
      res.writeHead(200, [
        "Set-Cookie",
        cookies[0]!,
        "Set-Cookie",
        cookies[1]!,
        "Set-Cookie",
        cookies[2]!,
        "Content-Length",
        "0"
      ])
      res.end()
    })
    try {
      await withProxy(up.url, async (url) => {
        const viaNode = await request(`${url}/svc/c`)
        expect(values(viaNode.rawHeaders, "set-cookie")).toEqual(cookies)
        const viaFetch = await fetch(`${url}/svc/c`)
        expect(viaFetch.headers.getSetCookie()).toEqual(cookies)
      })
    } finally {
      await up.close()
    }
  })
})

describe("hop-by-hop headers", () => {
  const requestCases: ReadonlyArray<
    readonly [string, ReadonlyArray<readonly [string, string]>, ReadonlyArray<string>]
  > = [
    ["named in Connection", [["Connection", "keep-alive, X-Hop-A, x-hop-b"], ["X-Hop-A", "1"], ["X-Hop-B", "2"]], [
      "x-hop-a",
      "x-hop-b"
    ]],
    ["two Connection headers", [["Connection", "X-Hop-A"], ["Connection", "X-Hop-B"], ["X-Hop-A", "1"], [
      "X-Hop-B",
      "2"
    ]], ["x-hop-a", "x-hop-b"]],
    ["Keep-Alive", [["Keep-Alive", "timeout=5"]], ["keep-alive"]],
    ["TE and Trailer", [["TE", "trailers"], ["Trailer", "X-T"]], ["te", "trailer"]],
    ["Proxy-Authorization", [["Proxy-Authorization", "Basic dXNlcjpwYXNz"]], ["proxy-authorization"]],
    ["Proxy-Connection", [["Proxy-Connection", "keep-alive"]], ["proxy-connection"]]
  ]
  it.each(requestCases)("request: %s never reaches the upstream", async (_name, headers, dropped) => {
    const seen = await withProxy(echoUp.url, async (url) => {
      const response = await raw(
        url,
        head("GET", "/svc/h", "proxy", [...headers, ["X-Kept", "yes"], ["Connection", "close"]])
      )
      expect(response.status).toBe(200)
      return JSON.parse(response.body) as { rawHeaders: Array<string> }
    })
    for (const name of dropped) expect(values(seen.rawHeaders, name)).toEqual([])
    // The upstream hop's own Connection header is the proxy's, nothing of the client's.
    expect(values(seen.rawHeaders, "connection")).toEqual(["keep-alive"])
    expect(values(seen.rawHeaders, "x-kept")).toEqual(["yes"])
  })

  const responseCases: ReadonlyArray<readonly [string, ReadonlyArray<string>, ReadonlyArray<string>]> = [
    ["named in Connection", ["Connection", "X-Up-A, x-up-b", "X-Up-A", "1", "X-Up-B", "2"], ["x-up-a", "x-up-b"]],
    ["Keep-Alive", ["Keep-Alive", "timeout=99"], []],
    ["Proxy-Authenticate", ["Proxy-Authenticate", "Basic realm=up"], ["proxy-authenticate"]],
    ["Trailer", ["Trailer", "X-Trail"], ["trailer"]],
    ["Upgrade", ["Upgrade", "h2c"], ["upgrade"]]
  ]
  it.each(responseCases)("response: %s never reaches the client", async (_name, headers, dropped) => {
    const up = await upstream((_req, res) => {
      // A Trailer goes with a chunked body; the rest with a Content-Length.
      res.writeHead(200, [...headers, "X-Kept", "yes", ...(headers.includes("Trailer") ? [] : ["Content-Length", "2"])])
      res.end("ok")
    })
    try {
      const response = await withProxy(
        up.url,
        (url) => raw(url, head("GET", "/svc/r", "proxy", [["Connection", "close"]]))
      )
      expect(response.status).toBe(200)
      expect(response.body).toBe("ok")
      for (const name of dropped) expect(values(response.rawHeaders, name)).toEqual([])
      // The proxy's own connection headers only: nothing of the upstream's.
      expect(values(response.rawHeaders, "keep-alive")).toEqual([])
      expect(values(response.rawHeaders, "connection")).toEqual(["close"])
      expect(values(response.rawHeaders, "x-kept")).toEqual(["yes"])
    } finally {
      await up.close()
    }
  })
})

describe("paths cannot leave the route's base path", () => {
  const refused = [
    "/svc/../admin",
    "/svc/..",
    "/svc/%2e%2e/admin",
    "/svc/%2E%2e/admin",
    "/svc/.%2e/admin",
    "/svc/%2e./admin",
    "/svc/a/../../admin",
    "/svc/a/%2e%2e/%2e%2e/admin?x=1",
    "/svc/a%2f..%2f..%2fadmin",
    "/svc/a%2F..%2F..%2Fadmin",
    "/svc/..%2fadmin",
    "/svc/a%5c..%5c..%5cadmin",
    "/svc/a\\..\\..\\admin"
  ]
  it.each(refused)("%s → 400 bad-path, nothing sent upstream", async (path) => {
    const before = echoUp.seen.length
    const response = await withProxy(
      `${echoUp.url}/base`,
      (url) => raw(url, head("GET", path, "proxy", [["Connection", "close"]]))
    )
    expect(response.status).toBe(400)
    expect(decodeProblem(response.body)).toMatchObject({ reason: "bad-path", status: 400 })
    expect(echoUp.seen.length).toBe(before)
  })

  const normalised: ReadonlyArray<readonly [string, string]> = [
    ["/svc/a/./b", "/base/a/b"],
    ["/svc/a/../b", "/base/b"],
    ["/svc/a/%2e/b", "/base/a/b"],
    ["/svc/a/b/%2E%2E", "/base/a/"],
    ["/svc/a/..", "/base/"],
    ["/svc/a/b/../../c?q=../x", "/base/c?q=../x"],
    ["/svc/%41%20b/c", "/base/%41%20b/c"],
    ["/svc", "/base"],
    ["/svc/", "/base/"],
    ["/svc?x=1", "/base?x=1"]
  ]
  it.each(normalised)("%s → the upstream gets %s", async (path, expected) => {
    const response = await withProxy(
      `${echoUp.url}/base`,
      (url) => raw(url, head("GET", path, "proxy", [["Connection", "close"]]))
    )
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body).url).toBe(expected)
  })
})

describe("oversized bodies get 413 with a typed body", () => {
  const limit = 64 * 1024
  const chunk = Buffer.alloc(16 * 1024, 120)
  const cases = [
    {
      name: "declared Content-Length over the limit (fetch)",
      send: (url: string) =>
        fetch(`${url}/svc/big`, { method: "POST", body: Buffer.alloc(limit + 1, 120) }).then(async (r) => ({
          status: r.status,
          body: await r.text()
        }))
    },
    {
      name: "chunked, passing the limit mid-stream (raw socket)",
      send: (url: string) =>
        raw(url, [
          head("POST", "/svc/big", "proxy", [["Transfer-Encoding", "chunked"], ["Connection", "close"]]),
          ...Array.from({ length: 6 }, () =>
            Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")])),
          "0\r\n\r\n"
        ])
    },
    {
      name: "chunked stream body (fetch, duplex half)",
      send: (url: string) =>
        fetch(`${url}/svc/big`, {
          method: "POST",
          body: new ReadableStream({
            start: (controller) => {
              for (let i = 0; i < 6; i++) controller.enqueue(new Uint8Array(chunk))
              controller.close()
            }
          }),
          duplex: "half"
        } as RequestInit).then(async (r) => ({ status: r.status, body: await r.text() }))
    }
  ]
  it.each(cases)("$name", async ({ send }) => {
    const before = echoUp.seen.length
    const response = await withProxy(echoUp.url, send, { maxBodyBytes: limit, replayBufferBytes: 1024 })
    expect(response.status).toBe(413)
    expect(decodeProblem(response.body)).toMatchObject({ reason: "body-too-large", status: 413, limitBytes: limit })
    // Nothing complete reached the upstream: no request, or one aborted mid-body.
    for (const seen of echoUp.seen.slice(before)) {
      await seen.socketClosed
      expect(seen.complete()).toBe(false)
    }
  })

  it("a chunked body under the limit passes whole (control)", async () => {
    const response = await withProxy(echoUp.url, (url) =>
      raw(url, [
        head("POST", "/svc/ok", "proxy", [["Transfer-Encoding", "chunked"], ["Connection", "close"]]),
        ...Array.from({ length: 3 }, () =>
          Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")])),
        "0\r\n\r\n"
      ]), { maxBodyBytes: limit })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body).length).toBe(3 * chunk.length)
  })
})

describe("a client that leaves aborts the upstream request", () => {
  it("before the upstream answers: the upstream's socket closes", async () => {
    const silent = await upstream(() => {})
    try {
      await withProxy(silent.url, async (url) => {
        const req = Http.request(`${url}/svc/slow`, { agent: false })
        req.on("error", () => {})
        req.end()
        const seen = await silent.nth(1)
        req.destroy()
        await seen.socketClosed
        expect(seen.complete()).toBe(true)
      })
    } finally {
      await silent.close()
    }
  })

  it("in the middle of a streamed response: the upstream's socket closes", async () => {
    const streaming = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write("data: 1\n\n")
    })
    try {
      await withProxy(streaming.url, async (url) => {
        await new Promise<void>((resolve, reject) => {
          const req = Http.request(`${url}/svc/stream`, { agent: false }, (res) => {
            res.once("data", () => {
              req.destroy()
              resolve()
            })
          })
          req.on("error", reject)
          req.end()
        })
        await (await streaming.nth(1)).socketClosed
      })
    } finally {
      await streaming.close()
    }
  })

  it("while sending a chunked body: the upstream request is aborted", async () => {
    const up = await upstream(() => {})
    try {
      await withProxy(up.url, async (url) => {
        const req = Http.request(`${url}/svc/upload`, {
          agent: false,
          method: "POST",
          headers: { "transfer-encoding": "chunked" }
        })
        req.on("error", () => {})
        req.write("first part")
        const seen = await up.nth(1)
        req.destroy()
        await seen.socketClosed
        expect(seen.complete()).toBe(false)
      })
    } finally {
      await up.close()
    }
  })
})

describe("the caller's token headers are replaced, never forwarded beside ours", () => {
  const routes = [
    { name: "token in Authorization", route: {}, ours: "authorization", kept: [] as Array<string> },
    {
      name: "token in X-Serverless-Authorization",
      route: { header: "X-Serverless-Authorization" },
      ours: "x-serverless-authorization",
      kept: []
    },
    {
      name: "X-Serverless-Authorization, forwardAuthorization",
      route: { header: "X-Serverless-Authorization", forwardAuthorization: true },
      ours: "x-serverless-authorization",
      kept: ["Bearer caller-1", "Bearer caller-2"]
    }
  ]
  it.each(routes)("$name", async ({ kept, ours, route }) => {
    const response = await Effect.runPromise(
      Effect.scoped(Effect.gen(function*() {
        const config = yield* ProxyConfig.decode({
          port: 0,
          routes: [{ prefix: "/svc", upstream: echoUp.url, ...route }]
        })
        const proxy = yield* SigningProxy.make(config)
        return yield* Effect.promise(() =>
          raw(
            proxy.url,
            head("GET", "/svc/t", "proxy", [
              ["Authorization", "Bearer caller-1"],
              ["Authorization", "Bearer caller-2"],
              ["X-Serverless-Authorization", "Bearer caller-3"],
              ["Connection", "close"]
            ])
          )
        )
      })).pipe(Effect.provide(auth))
    )
    const seen = JSON.parse(response.body) as { rawHeaders: Array<string> }
    const token = values(seen.rawHeaders, ours)
    expect(token).toHaveLength(1)
    expect(token[0]).toMatch(/^Bearer eyJ/)
    const other = ours === "authorization" ? "x-serverless-authorization" : "authorization"
    expect(values(seen.rawHeaders, other)).toEqual(kept)
    expect(JSON.stringify(seen.rawHeaders)).not.toContain("caller-3")
  })
})

describe("401 replay", () => {
  it("a chunked body within replayBufferBytes is replayed with a fresh token after a 401", async () => {
    const service = await emulator.cloudRun.deploy({ name: "replay", handler: echo })
    try {
      const body = await withProxy(service.url, async (url) => {
        expect((await fetch(`${url}/svc/warm`)).status).toBe(200)
        emulator.controls.setClockOffset(2 * 3600 * 1000)
        const response = await fetch(`${url}/svc/post`, {
          method: "POST",
          body: new ReadableStream({
            start: (controller) => {
              controller.enqueue(new TextEncoder().encode("chunked "))
              controller.enqueue(new TextEncoder().encode("payload"))
              controller.close()
            }
          }),
          duplex: "half"
        } as RequestInit)
        expect(response.status).toBe(200)
        return (await response.json()) as { length: number; sha256: string }
      })
      expect(body.sha256).toBe(Crypto.createHash("sha256").update("chunked payload").digest("hex"))
      // warm-up, the rejected attempt, the replay
      expect(emulator.controls.count("cloudrun:replay")).toBe(3)
    } finally {
      await service.close()
    }
  })
})

describe("pooled upstream connections", () => {
  it("a pooled connection the upstream closed as the request went out is retried once on a new one", async () => {
    let n = 0
    const up = await upstream((req, res) => {
      n += 1
      // The second request arrives on the reused socket: drop it unanswered, as a server
      // closing an idle connection at that instant does.
      if (n === 2) return req.socket.destroy()
      echo(req, res)
    })
    try {
      await withProxy(up.url, async (url) => {
        expect((await request(`${url}/svc/1`)).status).toBe(200)
        const second = await request(`${url}/svc/2`, { method: "POST", body: "again" })
        expect(second.status).toBe(200)
        expect(JSON.parse(second.body.toString()).length).toBe(5)
      })
      expect(up.seen.map((s) => s.url)).toEqual(["/1", "/2", "/2"])
    } finally {
      await up.close()
    }
  })
})

describe("upstream timeouts (TestClock)", () => {
  const timed = (extra: Record<string, unknown>, target: string) =>
    Effect.gen(function*() {
      const config = yield* ProxyConfig.decode({ port: 0, routes: [{ prefix: "/svc", upstream: target }], ...extra })
      return yield* SigningProxy.make(config)
    })

  it.scoped("no response head within responseTimeoutMs → 504 upstream-timeout, upstream socket closed", () =>
    Effect.gen(function*() {
      const silent = yield* Effect.acquireRelease(
        Effect.promise(() => upstream(() => {})),
        (u) => Effect.promise(u.close)
      )
      const proxy = yield* timed({ responseTimeoutMs: 5_000 }, silent.url)
      const response = yield* Effect.fork(Effect.promise(() => request(`${proxy.url}/svc/slow`)))
      const seen = yield* Effect.promise(() => silent.nth(1))
      yield* TestClock.adjust("4999 millis")
      // A round trip through the proxy: had the timeout fired, its answer would be out.
      yield* Effect.promise(() => request(`${proxy.url}/healthz`))
      expect(response.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const answer = yield* Fiber.join(response)
      expect(answer.status).toBe(504)
      expect(decodeProblem(answer.body)).toMatchObject({ reason: "upstream-timeout", status: 504, timeoutMs: 5_000 })
      yield* Effect.promise(() => seen.socketClosed)
    }).pipe(Effect.provide(auth)))

  it.scoped("silence between body chunks for idleTimeoutMs → the client's stream is aborted, not ended", () =>
    Effect.gen(function*() {
      const stalled = yield* Effect.acquireRelease(
        Effect.promise(() =>
          upstream((_req, res) => {
            res.writeHead(200, { "content-type": "application/x-ndjson" })
            res.write("{\"n\":1}\n")
          })
        ),
        (u) => Effect.promise(u.close)
      )
      const proxy = yield* timed({ idleTimeoutMs: 10_000 }, stalled.url)
      const outcome = yield* Effect.fork(
        Effect.promise(() =>
          new Promise<{ first: string; ended: boolean; aborted: boolean }>((resolve) => {
            Http.get(`${proxy.url}/svc/stream`, { agent: false }, (res) => {
              let first = ""
              res.once("data", (c: Buffer) => (first = c.toString()))
              res.on("end", () => resolve({ first, ended: true, aborted: false }))
              res.on("error", () => resolve({ first, ended: false, aborted: true }))
              res.on("close", () => resolve({ first, ended: res.complete, aborted: !res.complete }))
            }).on("error", () => {})
          })
        )
      )
      const seen = yield* Effect.promise(() => stalled.nth(1))
      yield* Effect.promise(() => request(`${proxy.url}/healthz`))
      yield* TestClock.adjust("9999 millis")
      yield* Effect.promise(() => request(`${proxy.url}/healthz`))
      expect(outcome.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(outcome)
      expect(result).toEqual({ first: "{\"n\":1}\n", ended: false, aborted: true })
      yield* Effect.promise(() => seen.socketClosed)
    }).pipe(Effect.provide(auth)))

  it.scoped("a token that does not come within responseTimeoutMs → 502 no-token, nothing sent upstream", () =>
    Effect.gen(function*() {
      emulator.controls.fail("metadata.identity", { kind: "hang" })
      const before = echoUp.seen.length
      const proxy = yield* timed({ responseTimeoutMs: 5_000 }, echoUp.url)
      const response = yield* Effect.fork(Effect.promise(() => request(`${proxy.url}/svc/x`)))
      // Round trips through the proxy until the token request is out (and hanging).
      for (let i = 0; i < 200 && emulator.controls.count("metadata.identity") === 0; i++) {
        yield* Effect.promise(() => request(`${proxy.url}/healthz`))
      }
      expect(emulator.controls.count("metadata.identity")).toBeGreaterThan(0)
      yield* TestClock.adjust("5 seconds")
      const answer = yield* Fiber.join(response)
      expect(answer.status).toBe(502)
      expect(decodeProblem(answer.body)).toMatchObject({ reason: "no-token", status: 502, timeoutMs: 5_000 })
      expect(echoUp.seen.length).toBe(before)
    }).pipe(Effect.provide(auth)))

  it.effect("defaults: 300 s to the response head, 120 s between chunks", () =>
    Effect.gen(function*() {
      const config = yield* ProxyConfig.decode({ routes: [{ prefix: "/a", upstream: "https://a-abc-uc.a.run.app" }] })
      expect(config.responseTimeoutMs).toBe(300_000)
      expect(config.idleTimeoutMs).toBe(120_000)
    }))
})
