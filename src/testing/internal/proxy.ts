/**
 * A forward proxy for clients that ignore the `fetch` seam (google-auth-library
 * builds some of its HTTP clients without the options it was given). Clients
 * find it through `HTTPS_PROXY`. A `CONNECT` to one of Google's auth hosts is
 * answered by the emulator itself behind TLS with a certificate from the
 * emulator's own authority; a `CONNECT` anywhere else is refused, so nothing
 * leaves the machine.
 *
 * @internal
 */
import type * as Crypto from "node:crypto"
import type * as Http from "node:http"
import * as Net from "node:net"
import * as Tls from "node:tls"
import type { LoopbackServer } from "./http.js"
import { listen, send } from "./http.js"
import { createCertificate } from "./x509.js"

/** @internal */
export const TLS_HOSTS: ReadonlyArray<string> = [
  "oauth2.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.googleapis.com",
  "www.googleapis.com",
  "accounts.google.com"
]

/** @internal */
export interface Authority {
  /** PEM of the self-signed authority */
  readonly caCertificate: string
  readonly context: Tls.SecureContext
}

/** A CA and one server certificate for every emulated host, on the same key. @internal */
export const makeAuthority = (
  key: { readonly privateKey: Crypto.KeyObject; readonly publicKey: Crypto.KeyObject },
  nowMs: number
): Authority => {
  const name = "effect-adc emulator local authority"
  const notBefore = new Date(nowMs - 86_400_000)
  const notAfter = new Date(nowMs + 7 * 86_400_000)
  const caCertificate = createCertificate({
    subject: name,
    publicKey: key.publicKey,
    privateKey: key.privateKey,
    isCa: true,
    notBefore,
    notAfter
  })
  const leaf = createCertificate({
    subject: "*.googleapis.com",
    publicKey: key.publicKey,
    issuer: { name, privateKey: key.privateKey, publicKey: key.publicKey },
    dnsNames: TLS_HOSTS,
    notBefore,
    notAfter
  })
  return {
    caCertificate,
    context: Tls.createSecureContext({
      key: key.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      cert: leaf + caCertificate
    })
  }
}

/** @internal */
export const startProxy = async (
  authority: Authority,
  googleApis: LoopbackServer,
  options: { readonly passThrough?: boolean } = {}
): Promise<LoopbackServer> => {
  const proxy = await listen(
    async (_req, res) =>
      send(
        res,
        403,
        { "Content-Type": "text/plain; charset=utf-8" },
        "effect-adc emulator proxy: only CONNECT to Google's auth hosts\n"
      ),
    (_req, res) => send(res, 500, {}, "")
  )
  const tunnels = new Set<Net.Socket>()
  proxy.server.on("connect", (req: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => {
    tunnels.add(socket)
    socket.on("close", () => tunnels.delete(socket))
    socket.on("error", () => socket.destroy())
    const target = req.url ?? ""
    const match = /^([^:]+):(\d+)$/.exec(target)
    const host = match?.[1] ?? ""
    if (match === null || match[2] !== "443" || !TLS_HOSTS.includes(host)) {
      if (match === null || options.passThrough !== true) {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
      }
      // pass-through: any other host gets a plain tunnel, untouched (no interception)
      const upstream = Net.connect(Number(match[2]), host, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n")
        if (head.length > 0) upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
      tunnels.add(upstream)
      upstream.on("close", () => tunnels.delete(upstream))
      upstream.on("error", () => {
        socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      })
      socket.on("close", () => upstream.destroy())
      return
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n")
    if (head.length > 0) socket.unshift(head)
    const tls = new Tls.TLSSocket(socket, {
      isServer: true,
      secureContext: authority.context,
      ALPNProtocols: ["http/1.1"]
    })
    tls.on("error", () => socket.destroy())
    googleApis.server.emit("connection", tls)
  })
  const close = proxy.close
  return {
    ...proxy,
    close: async () => {
      for (const socket of tunnels) socket.destroy()
      await close()
    }
  }
}
