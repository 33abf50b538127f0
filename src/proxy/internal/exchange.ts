/**
 * The proxy's data plane: one request from a client to a route's upstream and its
 * response back, on `node:http` streams. Bodies are piped chunk by chunk with
 * back-pressure both ways (nothing is buffered but the copy a 401 replay needs); Effect
 * is only asked for a token when the cache has none warm, and for the clock of the
 * timeouts.
 *
 * One exchange, in order:
 * 1. the token header (a synchronous cache read when warm);
 * 2. `100 Continue` to a client that expects it, then the request to the upstream,
 *    the client's body piped into it (counted against `maxBodyBytes`, and kept up to
 *    `replayBufferBytes` for a replay);
 * 3. the response head back (end-to-end headers only, repeated ones kept apart), then
 *    its body, chunk by chunk.
 *
 * Failures end the exchange once: before the response head, the client gets a typed
 * {@link ProxyProblem}; after it, the client's stream is aborted (never a clean end
 * of a truncated body). A client that leaves aborts the upstream request at once.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Http from "node:http"
import type { AuthHeaders, AuthService } from "../../auth/AuthService.js"
import { sentToken, tokenHeader } from "../../http/internal/origin.js"
import { tokenRejected } from "../../http/internal/tokenRejected.js"
import type { ProxyConfig } from "../ProxyConfig.js"
import * as ProxyProblem from "../ProxyProblem.js"
import type { Deadline, Deadlines } from "./deadlines.js"
import { copyEndToEnd, requestDrop } from "./headers.js"
import type { CompiledRoute } from "./routes.js"

/** What every exchange of one proxy shares. @internal */
export interface Plane {
  readonly config: ProxyConfig
  readonly auth: AuthService["Type"]
  /** Runs an effect on the proxy's runtime; the returned function interrupts it. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>, onExit: (exit: Exit.Exit<A, E>) => void) => () => void
  readonly deadlines: Deadlines
}

/** Writes a problem as the whole response (or aborts the response if its head is out). @internal */
export const reply = (res: Http.ServerResponse, problem: ProxyProblem.ProxyProblem, close: boolean): void => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(problem)
  const head: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    [ProxyProblem.header]: "problem"
  }
  // The rest of the request body is never read: the connection cannot carry another request.
  if (close) head["connection"] = "close"
  res.writeHead(problem.status, head)
  res.end(body)
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** @internal */
export class Exchange {
  private upstream: Http.ClientRequest | undefined = undefined
  /** Where the client's body goes now (none while a new attempt waits for its token). */
  private sink: Http.ClientRequest | undefined = undefined
  private response: Http.IncomingMessage | undefined = undefined
  /** The whole body so far, while it fits `replayBufferBytes`; `undefined` once it did not. */
  private kept: Array<Buffer> | undefined = []
  private keptBytes = 0
  private received = 0
  private requestEnded = false
  /** The client's body is being read (from the first attempt on). */
  private wired = false
  /** A 401 was replayed, or a stale pooled connection retried: no second time. */
  private replayed = false
  private sent: AuthHeaders = {}
  private cancelToken: (() => void) | undefined = undefined
  private tokenWait: Deadline | undefined = undefined
  private finished = false
  private readonly wait: Deadline
  private readonly idle: Deadline

  constructor(
    private readonly plane: Plane,
    private readonly route: CompiledRoute,
    private readonly req: Http.IncomingMessage,
    private readonly res: Http.ServerResponse,
    private readonly path: string,
    private readonly expectContinue: boolean
  ) {
    const { idleTimeoutMs, responseTimeoutMs } = plane.config
    this.wait = plane.deadlines.make(responseTimeoutMs, () =>
      this.fail(
        ProxyProblem.make(
          "upstream-timeout",
          `the upstream sent no response within ${responseTimeoutMs} ms of the request; ` +
            `raise responseTimeoutMs if it is slow (a cold start), or check the service`,
          { timeoutMs: responseTimeoutMs }
        )
      ))
    this.idle = plane.deadlines.make(idleTimeoutMs, () =>
      this.fail(
        ProxyProblem.make(
          "upstream-idle",
          `the upstream took none of the request body for ${idleTimeoutMs} ms; raise idleTimeoutMs or check the service`,
          { timeoutMs: idleTimeoutMs }
        )
      ))
  }

  start(): void {
    this.res.once("close", this.onClientClose)
    this.req.once("error", this.onClientClose)
    this.withToken((headers) => this.send(headers))
  }

  /** Calls `f` with the route's token headers: from the cache, else from AuthService. */
  private withToken(f: (headers: AuthHeaders) => void): void {
    const { auth } = this.plane
    const cached = auth.unsafeCachedHeaders(this.route.target)
    if (cached !== undefined) return f(cached)
    // Bounded like the upstream: a token source that hangs gets the client a 502, not a wait.
    const timeoutMs = this.plane.config.responseTimeoutMs
    const bound = this.plane.deadlines.make(timeoutMs, () =>
      this.fail(
        ProxyProblem.make(
          "no-token",
          `no token for the upstream within ${timeoutMs} ms; check the credentials with \`effect-adc doctor\``,
          { timeoutMs }
        )
      ))
    this.tokenWait = bound
    bound.start()
    this.runEffect(auth.headers(this.route.target), (exit) => {
      bound.cancel()
      if (this.finished) return
      if (Exit.isSuccess(exit)) return f(exit.value)
      const failure = Cause.failureOption(exit.cause)
      this.fail(
        ProxyProblem.make(
          "no-token",
          failure._tag === "Some"
            ? `no token for the upstream: ${failure.value.message}`
            : "no token for the upstream: the token request did not complete"
        )
      )
    })
  }

  /** Runs an effect that `stop` interrupts (its callback may come at once or later). */
  private runEffect<A, E>(effect: Effect.Effect<A, E>, onExit: (exit: Exit.Exit<A, E>) => void): void {
    const slot: { cancel: (() => void) | undefined; done: boolean } = { cancel: undefined, done: false }
    const cancel = this.plane.run(effect, (exit) => {
      slot.done = true
      if (this.cancelToken !== undefined && this.cancelToken === slot.cancel) this.cancelToken = undefined
      onExit(exit)
    })
    if (!slot.done) {
      slot.cancel = cancel
      this.cancelToken = cancel
    }
  }

  /** One attempt: the request to the upstream with these token headers. */
  private send(headers: AuthHeaders): void {
    const { route, req } = this
    this.sent = headers
    const raw = copyEndToEnd(req.rawHeaders, ["Host", route.host], requestDrop(route.forwardAuthorization, headers))
    for (const name in headers) raw.push(name, headers[name]!)
    // A chunked body stays chunked (Node frames a GET or DELETE body only when told to).
    if (req.headers["transfer-encoding"] !== undefined && req.headers["content-length"] === undefined) {
      raw.push("Transfer-Encoding", "chunked")
    }
    let upstream: Http.ClientRequest
    try {
      upstream = route.request({
        agent: route.agent,
        protocol: route.protocol,
        hostname: route.hostname,
        port: route.port,
        method: req.method,
        path: this.path,
        headers: raw
      })
    } catch {
      // Node's client refuses something its server accepted (a method, a header value).
      return this.fail(
        ProxyProblem.make("upstream-unreachable", "the request could not be sent to the upstream as it is")
      )
    }
    this.upstream = upstream
    upstream.once("response", (response) => this.onResponse(upstream, response))
    upstream.on("error", (error) => this.onUpstreamError(upstream, error))

    if (!this.wired) {
      this.wired = true
      if (this.expectContinue) this.res.writeContinue()
      this.sink = upstream
      req.on("data", this.onData)
      req.once("end", this.onEnd)
      return
    }
    // A replay: the body so far, then the rest as it comes.
    for (const chunk of this.kept ?? []) upstream.write(chunk)
    if (this.requestEnded) {
      upstream.end()
      this.wait.start()
    } else {
      this.sink = upstream
      req.resume()
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length
    if (this.received > this.plane.config.maxBodyBytes) return this.tooLarge()
    if (this.kept !== undefined) {
      if (this.keptBytes + chunk.length <= this.plane.config.replayBufferBytes) {
        this.kept.push(chunk)
        this.keptBytes += chunk.length
      } else {
        this.kept = undefined
      }
    }
    const sink = this.sink
    if (sink === undefined) return
    if (!sink.write(chunk)) {
      this.req.pause()
      this.idle.start()
      sink.once("drain", () => {
        if (sink !== this.sink) return
        this.idle.cancel()
        this.req.resume()
      })
    }
  }

  private readonly onEnd = (): void => {
    this.requestEnded = true
    const sink = this.sink
    if (sink === undefined) return
    sink.end()
    if (this.response === undefined) this.wait.start()
  }

  private onResponse(upstream: Http.ClientRequest, response: Http.IncomingMessage): void {
    if (upstream !== this.upstream || this.finished) {
      response.resume()
      return
    }
    this.wait.cancel()
    this.idle.cancel()
    const status = response.statusCode ?? 502
    if (!this.replayed && tokenRejected(status, response.headers["www-authenticate"], tokenHeader(this.route.target))) {
      const { auth } = this.plane
      const target = this.route.target
      const invalidate = auth.invalidate(target, sentToken(target, this.sent))
      if (this.kept !== undefined) {
        // The whole body so far is kept: replay once with a fresh token.
        this.replayed = true
        this.abandon(upstream, response)
        this.req.pause()
        this.runEffect(invalidate, () => {
          if (!this.finished) this.withToken((headers) => this.send(headers))
        })
        return
      }
      this.plane.run(invalidate, () => {})
    }
    this.forward(upstream, response, status)
  }

  /** Leaves an attempt: its socket goes back to the pool when it can. */
  private abandon(upstream: Http.ClientRequest, response: Http.IncomingMessage): void {
    this.sink = undefined
    this.upstream = undefined
    if (upstream.writableEnded) response.resume()
    else upstream.destroy()
  }

  private forward(upstream: Http.ClientRequest, response: Http.IncomingMessage, status: number): void {
    const { res } = this
    this.response = response
    try {
      res.writeHead(status, response.statusMessage, copyEndToEnd(response.rawHeaders, []))
    } catch {
      upstream.destroy()
      return this.fail(
        ProxyProblem.make("upstream-unreachable", "the upstream's response head could not be passed on as it is")
      )
    }
    response.on("data", (chunk: Buffer) => {
      if (res.write(chunk)) {
        this.idle.start()
      } else {
        // The client is slow, not the upstream: no idle countdown while we wait for it.
        this.idle.cancel()
        response.pause()
      }
    })
    res.on("drain", () => {
      if (this.finished) return
      this.idle.start()
      response.resume()
    })
    response.once("end", () => {
      this.idle.cancel()
      this.finished = true
      res.end()
      // The upstream answered before the whole body was sent: that request cannot be reused.
      if (!upstream.writableEnded) {
        this.sink = undefined
        upstream.destroy()
      }
    })
    // Closed before its end: the client's response is aborted too, never ended cleanly.
    response.once("close", () => {
      if (!response.complete) this.fail(undefined)
    })
    response.once("error", () => this.fail(undefined))
    this.idle.start()
  }

  private onUpstreamError(upstream: Http.ClientRequest, error: unknown): void {
    if (upstream !== this.upstream || this.finished) return
    if (this.response !== undefined) return this.fail(undefined)
    // A pooled connection the upstream had just closed: once more on a new one.
    if (
      upstream.reusedSocket && errorCode(error) === "ECONNRESET" && this.kept !== undefined && !this.replayed
    ) {
      this.replayed = true
      this.sink = undefined
      this.upstream = undefined
      this.wait.cancel()
      this.idle.cancel()
      this.req.pause()
      this.send(this.sent)
      return
    }
    this.fail(
      ProxyProblem.make(
        "upstream-unreachable",
        "the upstream could not be reached or closed the connection before answering"
      )
    )
  }

  private tooLarge(): void {
    const limit = this.plane.config.maxBodyBytes
    this.fail(
      ProxyProblem.make("body-too-large", `the request body is larger than ${limit} bytes (maxBodyBytes)`, {
        limitBytes: limit
      })
    )
  }

  /** Ends the exchange: the problem to the client if its head is not out yet, else an aborted response. */
  private fail(problem: ProxyProblem.ProxyProblem | undefined): void {
    if (this.finished) return
    this.finished = true
    this.stop()
    if (problem === undefined) this.res.destroy()
    else reply(this.res, problem, !this.requestEnded)
  }

  /** The client left: everything upstream stops now. */
  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return this.stop()
    this.finished = true
    this.stop()
  }

  private stop(): void {
    this.wait.cancel()
    this.idle.cancel()
    this.tokenWait?.cancel()
    this.cancelToken?.()
    this.cancelToken = undefined
    this.sink = undefined
    this.req.off("data", this.onData)
    const upstream = this.upstream
    if (upstream !== undefined && !(this.response !== undefined && this.response.complete)) upstream.destroy()
  }
}
