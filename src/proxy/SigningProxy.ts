/**
 * The sidecar proxy, for agents we cannot change (Python ADK + LiteLLM, curl, any
 * language): it listens on loopback and forwards each request to the upstream its path
 * prefix names, adding the right Google token (an ID token for a Cloud Run upstream, an
 * access token for Google APIs), refreshed by AuthService.
 *
 * The data plane is `node:http` streams (see `internal/exchange.ts`): bodies are piped
 * both ways unbuffered, with back-pressure, over keep-alive connections to each
 * upstream; Effect provides the configuration, the token (a cache read when warm), the
 * clock of the timeouts and the lifecycle (a scoped server, closed gracefully).
 *
 * It is not an open relay: only configured upstreams, no absolute-URI or CONNECT
 * requests, no path that leaves a route's base path; the caller's `Authorization` and
 * `X-Serverless-Authorization` are replaced by ours (a route may forward the caller's
 * `Authorization` when our token goes in `X-Serverless-Authorization`); redirects are
 * handed back to the client, never followed, so our token only ever goes to the route's
 * upstream; body and header sizes and the upstream's time are bounded.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AuthService } from "effect-adc/auth"
 * import { ProxyConfig, SigningProxy } from "effect-adc/proxy"
 *
 * const program = Effect.gen(function*() {
 *   const config = yield* ProxyConfig.decode({
 *     port: 8080,
 *     routes: [{ prefix: "/gemma", upstream: "https://gemma-abc-uc.a.run.app" }]
 *   })
 *   const proxy = yield* SigningProxy.make(config)
 *   yield* Effect.log(`listening on ${proxy.url}`)
 *   return yield* Effect.never
 * })
 *
 * Effect.runFork(program.pipe(Effect.scoped, Effect.provide(AuthService.layer())))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Https from "node:https"
import { AuthService } from "../auth/AuthService.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import * as Deadlines from "./internal/deadlines.js"
import type { Plane } from "./internal/exchange.js"
import * as internalHandler from "./internal/handler.js"
import { type Agents, compile, targetOf as routeTarget } from "./internal/routes.js"
import type { ProxyConfig, Route } from "./ProxyConfig.js"

/**
 * A running proxy.
 *
 * @since 0.2.0
 * @category Tags
 */
export class SigningProxy extends Context.Tag("effect-adc/SigningProxy")<SigningProxy, SigningProxy.Service>() {}

/**
 * @since 0.2.0
 * @category Models
 */
export declare namespace SigningProxy {
  /**
   * @since 0.2.0
   * @category Models
   */
  export interface Service {
    /** `http://host:port`, the base URL clients use. */
    readonly url: string
    /** The address it listens on (the port the OS chose for port 0). */
    readonly address: { readonly host: string; readonly port: number }
  }
}

/**
 * Options beyond the configuration.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /**
   * The keep-alive agents upstream connections are pooled in, for a custom CA or
   * socket options. Default: one `http.Agent` and one `https.Agent` per proxy with
   * `keepAlive: true`, destroyed when the proxy stops (agents passed here are not).
   */
  readonly agents?: { readonly http?: Http.Agent | undefined; readonly https?: Https.Agent | undefined } | undefined
}

/**
 * @since 0.2.0
 * @category Symbols
 */
export const ListenFailedTypeId: unique symbol = Symbol.for("effect-adc/ProxyListenFailed")

/**
 * The proxy could not listen on its address (the port is taken, the address is not
 * this machine's, or binding needs privileges).
 *
 * @since 0.2.0
 * @category Errors
 */
export class ProxyListenFailed extends Schema.TaggedError<ProxyListenFailed>("effect-adc/ProxyListenFailed")(
  "ProxyListenFailed",
  {
    host: Schema.String,
    port: Schema.Number,
    /** The system error code, such as `EADDRINUSE`. */
    code: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  /** @since 0.2.0 */
  readonly [ListenFailedTypeId]: typeof ListenFailedTypeId = ListenFailedTypeId

  /** @since 0.2.0 */
  override get message(): string {
    const why = this.code === "EADDRINUSE"
      ? "another process listens on that port; stop it or pass another --port (0 lets the system choose)"
      : this.code === "EACCES"
      ? "binding there needs privileges; use a port above 1023"
      : this.code === "EADDRNOTAVAIL"
      ? "that address is not one of this machine's; use 127.0.0.1"
      : "check --host and --port"
    return `The proxy could not listen on ${this.host}:${this.port}${
      this.code === undefined ? "" : ` (${this.code})`
    }: ${why}.`
  }
}

/**
 * @since 0.2.0
 * @category Refinements
 */
export const isProxyListenFailed = (u: unknown): u is ProxyListenFailed => Predicate.hasProperty(u, ListenFailedTypeId)

/**
 * A Node request listener; `expectContinue` is `true` for requests Node hands to a
 * `checkContinue` listener (`Expect: 100-continue`), which the proxy answers with
 * `100 Continue` once it is ready for the body, or with a final status instead.
 *
 * @since 0.2.0
 * @category Models
 */
export type Handler = internalHandler.Handler

/**
 * The token target of a route: an access token for Google API upstreams (`*.googleapis.com`,
 * `{id}.{region}-{n}.prediction.vertexai.goog`), else
 * an ID token whose audience is the upstream's origin (unless the route says otherwise).
 *
 * @since 0.1.0
 * @category Getters
 */
export const targetOf: (route: Route) => TokenTarget = routeTarget

/**
 * A Node request listener that proxies by the configuration, for mounting on a server
 * of your own (`http.createServer(handler)`; pass `checkContinue` requests as
 * `handler(req, res, true)`). Its timers and agents live in the current scope.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeHandler = (
  config: ProxyConfig,
  options: Options = {}
): Effect.Effect<Handler, never, AuthService | Scope.Scope> =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const runtime = yield* Effect.runtime<never>()
    const runCallback = Runtime.runCallback(runtime)
    const deadlines = yield* Deadlines.make
    const agents: Agents = {
      http: options.agents?.http ?? (yield* ownAgent(() => new Http.Agent({ keepAlive: true }))),
      https: options.agents?.https ?? (yield* ownAgent(() => new Https.Agent({ keepAlive: true })))
    }
    const plane: Plane = {
      config,
      auth,
      deadlines,
      run: (effect, onExit) => {
        const cancel = runCallback(effect, { onExit })
        return () => cancel()
      }
    }
    return internalHandler.makeHandler(plane, config.routes.map((route) => compile(route, agents)))
  })

const ownAgent = <A extends Http.Agent>(make: () => A) =>
  Effect.acquireRelease(Effect.sync(make), (agent) => Effect.sync(() => agent.destroy()))

/** How long an idle client connection stays open: 610 s, as Google's front ends. */
const keepAliveTimeoutMs = 610_000

const listen = (server: Http.Server, host: string, port: number) =>
  Effect.async<void, ProxyListenFailed>((resume) => {
    const onError = (error: Error) => {
      const code = Predicate.hasProperty(error, "code") && typeof error.code === "string" ? error.code : undefined
      resume(Effect.fail(new ProxyListenFailed({ host, port, code, cause: error })))
    }
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      resume(Effect.void)
    })
  })

/**
 * Starts the proxy in the current scope. Closing the scope stops accepting connections,
 * lets requests in flight finish (then closes their connections), and closes the
 * upstream connection pools.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  config: ProxyConfig,
  options: Options = {}
): Effect.Effect<SigningProxy.Service, ProxyListenFailed, AuthService | Scope.Scope> =>
  Effect.gen(function*() {
    // Acquired first, released last: timers and agents outlive the requests in flight.
    const handler = yield* makeHandler(config, options)
    // Idle client connections stay open as long as Google's front ends keep them (Node's
    // default of 5 s races the 5 s pools of httpx and undici: "socket closed" on reuse).
    const server = Http.createServer({ maxHeaderSize: config.maxHeaderBytes, keepAliveTimeout: keepAliveTimeoutMs })
    let closing = false
    const closeWhenIdle = () => {
      if (closing) server.closeIdleConnections()
    }
    const serve = (req: Http.IncomingMessage, res: Http.ServerResponse, expectContinue: boolean) => {
      if (closing) res.shouldKeepAlive = false
      else res.once("finish", closeWhenIdle)
      try {
        handler(req, res, expectContinue)
      } catch {
        res.destroy()
      }
    }
    server.on("request", (req, res) => serve(req, res, false))
    server.on("checkContinue", (req, res) => serve(req, res, true))
    yield* Effect.acquireRelease(
      listen(server, config.host, config.port),
      () =>
        Effect.async<void>((resume) => {
          closing = true
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
        })
    )
    const address = server.address()
    const host = typeof address === "object" && address !== null ? address.address : config.host
    const port = typeof address === "object" && address !== null ? address.port : config.port
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, address: { host, port } }
  })

/**
 * Starts the proxy in the current scope and returns its URL (as {@link make}).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const start = (
  config: ProxyConfig
): Effect.Effect<SigningProxy.Service, ProxyListenFailed, AuthService | Scope.Scope> => make(config)

/**
 * The proxy as a layer: it listens while the layer is alive.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (
  config: ProxyConfig,
  options: Options = {}
): Layer.Layer<SigningProxy, ProxyListenFailed, AuthService> => Layer.scoped(SigningProxy, make(config, options))

/**
 * What running the proxy needs.
 *
 * @since 0.1.0
 * @category Models
 */
export type Requirements = AuthService
