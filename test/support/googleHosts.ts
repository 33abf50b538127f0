/**
 * Google's host names on loopback, through the real client: one HTTPS server and one
 * plain-http server on 127.0.0.1, a certificate for the given names (trusted only by the
 * HttpClient this gives, not by the process), and an undici HttpClient whose connector
 * sends every name to 127.0.0.1 and the default ports (443, 80) to those servers. A
 * request to `https://1234.us-central1-5678.prediction.vertexai.goog/v1beta1/…` thus goes
 * through the real URL parser, the real origin rule, the real TLS name check, and lands
 * on a loopback server that records who it was for (`Host`) and what it carried.
 *
 * Every name the test uses (hostile ones too) must be in `names`, or TLS fails before a
 * header is sent and a delivery could not be seen.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo, LookupFunction } from "node:net"
import { Agent, buildConnector } from "undici"
import { loopbackTls } from "./tls.js"

/** One request a loopback server received. */
export interface Seen {
  readonly scheme: "http" | "https"
  /** the `Host` header (`name` or `name:port`) */
  readonly host: string
  readonly path: string
  readonly authorization: string | undefined
  /** any header we set for a token: `authorization`, `x-goog-user-project` */
  readonly carriesToken: boolean
}

export interface GoogleHosts {
  /** What both servers received, in order. */
  readonly seen: Array<Seen>
  readonly tlsPort: number
  readonly plainPort: number
  /** The handler behind both servers (after recording). */
  handler: Http.RequestListener
  /** A new undici Agent whose connector sends every name to the servers. */
  readonly dispatcher: () => Agent
  /** An undici HttpClient that reaches the servers under any name (fresh dispatcher per layer). */
  readonly httpClient: Layer.Layer<HttpClient.HttpClient>
  close(): Promise<void>
}

const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true) {
    ;(callback as unknown as (e: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{
      address: "127.0.0.1",
      family: 4
    }])
  } else callback(null, "127.0.0.1", 4)
}

const listen = async (server: Http.Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as AddressInfo).port
}

export const start = async (names: ReadonlyArray<string>): Promise<GoogleHosts> => {
  // trusted only by this client's connector, not by the process
  const { cert, key } = loopbackTls({
    subject: "effect-adc test Google hosts",
    dnsNames: names,
    ipAddresses: ["127.0.0.1"],
    trust: false
  })
  const seen: Array<Seen> = []
  const hosts: { handler: Http.RequestListener } = {
    handler: (_req, res) => {
      res.writeHead(404)
      res.end()
    }
  }
  const recording = (scheme: "http" | "https"): Http.RequestListener => (req, res) => {
    seen.push({
      scheme,
      host: req.headers.host ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
      carriesToken: req.headers.authorization !== undefined || req.headers["x-goog-user-project"] !== undefined
    })
    hosts.handler(req, res)
  }
  const tls = Https.createServer({ key, cert }, recording("https"))
  const plain = Http.createServer(recording("http"))
  const tlsPort = await listen(tls)
  const plainPort = await listen(plain)
  const connector = buildConnector({ ca: [cert], lookup: loopbackLookup })
  const dispatcher = () =>
    new Agent({
      connect: (options, callback) => {
        const port = options.port === "" || options.port === "443"
          ? String(tlsPort)
          : options.port === "80"
          ? String(plainPort)
          : options.port
        connector({ ...options, port }, callback)
      }
    })
  return {
    seen,
    dispatcher,
    tlsPort,
    plainPort,
    get handler() {
      return hosts.handler
    },
    set handler(next) {
      hosts.handler = next
    },
    httpClient: NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
      Layer.provide(Layer.scoped(
        NodeHttpClient.Dispatcher,
        Effect.acquireRelease(Effect.sync(dispatcher), (agent) => Effect.promise(() => agent.destroy()))
      ))
    ),
    close: async () => {
      for (const server of [tls, plain]) {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    }
  }
}
