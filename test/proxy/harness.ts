/**
 * Loopback plumbing for the proxy's suites: upstream servers that record what reached
 * them (headers as raw lines, body, whether the socket closed), raw HTTP/1.1 exchanges
 * for requests `fetch` will not send, and curl.
 */
import { spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import { createCertificate } from "../../src/testing/internal/x509.js"

/** One request as an upstream saw it. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly rawHeaders: ReadonlyArray<string>
  /** The body, once it ended (or what came before the request was aborted). */
  readonly body: Promise<Buffer>
  /** Resolves when the request's socket closes. */
  readonly socketClosed: Promise<void>
  /** Did the whole request body arrive? */
  readonly complete: () => boolean
}

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly seen: Array<Seen>
  /** Resolves with the `n`th request (1-based) once it arrived. */
  readonly nth: (n: number) => Promise<Seen>
  readonly close: () => Promise<void>
}

export type UpstreamHandler = (req: Http.IncomingMessage, res: Http.ServerResponse, seen: Seen) => void

/** A loopback upstream (http, or https with `tls`). */
export const upstream = async (
  handler: UpstreamHandler,
  options: {
    readonly host?: string
    readonly port?: number
    readonly tls?: { readonly key: string; readonly cert: string }
  } = {}
): Promise<Upstream> => {
  const seen: Array<Seen> = []
  const waiters = new Map<number, (s: Seen) => void>()
  const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const chunks: Array<Buffer> = []
    let complete = false
    const body = new Promise<Buffer>((resolve) => {
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        complete = true
        resolve(Buffer.concat(chunks))
      })
      req.on("close", () => resolve(Buffer.concat(chunks)))
    })
    const socketClosed = new Promise<void>((resolve) => {
      if (req.socket.destroyed) resolve()
      else req.socket.once("close", () => resolve())
    })
    const record: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      rawHeaders: [...req.rawHeaders],
      body,
      socketClosed,
      complete: () => complete
    }
    seen.push(record)
    waiters.get(seen.length)?.(record)
    handler(req, res, record)
  }
  const server = options.tls === undefined
    ? Http.createServer(onRequest)
    : Https.createServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve))
  const address = server.address() as Net.AddressInfo
  const host = address.address.includes(":") ? `[${address.address}]` : address.address
  return {
    url: `${options.tls === undefined ? "http" : "https"}://${host}:${address.port}`,
    port: address.port,
    seen,
    nth: (n) => n <= seen.length ? Promise.resolve(seen[n - 1]!) : new Promise((resolve) => waiters.set(n, resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** The values of a header in raw lines (case-insensitive name). */
export const values = (raw: ReadonlyArray<string>, name: string): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!)
  return out
}

/** A parsed HTTP/1.1 response. */
export interface RawResponse {
  readonly status: number
  readonly rawHeaders: ReadonlyArray<string>
  readonly body: string
  /** Everything the socket received (100 Continue included). */
  readonly text: string
}

/** Sends `text` on a fresh socket and reads until the server closes it (send `Connection: close`). */
export const raw = (url: string, text: string | ReadonlyArray<string | Buffer>): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = Net.connect(Number(port), hostname, () => {
      for (const part of typeof text === "string" ? [text] : text) socket.write(part)
    })
    const chunks: Array<Buffer> = []
    socket.on("data", (d: Buffer) => chunks.push(d))
    socket.on("error", () => {})
    socket.on("close", () => {
      const all = Buffer.concat(chunks).toString("latin1")
      // Skip interim (1xx) responses.
      let rest = all
      while (/^HTTP\/1\.1 1\d\d /.test(rest)) rest = rest.slice(rest.indexOf("\r\n\r\n") + 4)
      const end = rest.indexOf("\r\n\r\n")
      if (end < 0) return reject(new Error(`no response: ${JSON.stringify(all.slice(0, 200))}`))
      const [statusLine = "", ...lines] = rest.slice(0, end).split("\r\n")
      const rawHeaders = lines.flatMap((line) => {
        const colon = line.indexOf(":")
        return [line.slice(0, colon), line.slice(colon + 1).trim()]
      })
      let body = rest.slice(end + 4)
      if (values(rawHeaders, "transfer-encoding").some((v) => v.includes("chunked"))) body = dechunk(body)
      resolve({ status: Number(statusLine.split(" ")[1]), rawHeaders, body, text: all })
    })
  })

const dechunk = (s: string): string => {
  let out = ""
  let rest = s
  for (;;) {
    const nl = rest.indexOf("\r\n")
    if (nl < 0) return out
    const size = parseInt(rest.slice(0, nl), 16)
    if (!(size > 0)) return out
    out += rest.slice(nl + 2, nl + 2 + size)
    rest = rest.slice(nl + 2 + size + 2)
  }
}

/** A request head for {@link raw}. */
export const head = (
  method: string,
  path: string,
  host: string,
  headers: ReadonlyArray<readonly [string, string]> = []
) => `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`

/** Runs curl; resolves with its exit code, stdout and stderr (curl -v writes the exchange there). */
export const curl = (args: ReadonlyArray<string>): Promise<{ code: number; stdout: Buffer; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn("curl", ["--silent", "--show-error", "--noproxy", "*", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    let err = ""
    child.stdout.on("data", (d: Buffer) => out.push(d))
    child.stderr.on("data", (d: Buffer) => (err += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }))
  })

/** A CA and a server certificate for 127.0.0.1, 127.0.0.2 and localhost. */
export const loopbackTls = (): { readonly key: string; readonly cert: string; readonly ca: string } => {
  const ca = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const leaf = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const now = Date.now()
  const notBefore = new Date(now - 3600_000)
  const notAfter = new Date(now + 86_400_000)
  const name = "effect-adc proxy test authority"
  const caCert = createCertificate({
    subject: name,
    publicKey: ca.publicKey,
    privateKey: ca.privateKey,
    isCa: true,
    notBefore,
    notAfter
  })
  const cert = createCertificate({
    subject: "127.0.0.1",
    publicKey: leaf.publicKey,
    issuer: { name, privateKey: ca.privateKey, publicKey: ca.publicKey },
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "127.0.0.2"],
    notBefore,
    notAfter
  })
  return { key: leaf.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), cert, ca: caCert }
}

/** A node:http request through `url`, resolving with the response head and body. */
export const request = (
  url: string,
  options: Http.RequestOptions & { readonly body?: string | Buffer } = {}
): Promise<{ status: number; rawHeaders: ReadonlyArray<string>; headers: Http.IncomingHttpHeaders; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const req = Http.request(url, { agent: false, ...options }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on(
        "end",
        () =>
          resolve({
            status: res.statusCode ?? 0,
            rawHeaders: res.rawHeaders,
            headers: res.headers,
            body: Buffer.concat(chunks)
          })
      )
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(options.body)
  })

/**
 * One port that speaks both TLS and plain HTTP (by the first byte), so that a redirect
 * to `http://` on an https upstream's own host and port (a downgrade) reaches a server
 * that records it.
 */
export const dualPort = async (
  tls: { readonly key: string; readonly cert: string },
  onTls: Http.RequestListener,
  onPlain: Http.RequestListener,
  host = "127.0.0.1"
): Promise<{ readonly port: number; readonly close: () => Promise<void> }> => {
  const secure = Https.createServer({ key: tls.key, cert: tls.cert }, onTls)
  const plain = Http.createServer(onPlain)
  const sockets = new Set<Net.Socket>()
  const front = Net.createServer((socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    socket.once("data", (first: Buffer) => {
      socket.pause()
      socket.unshift(first)
      ;(first[0] === 0x16 ? secure : plain).emit("connection", socket)
      process.nextTick(() => socket.resume())
    })
  })
  await new Promise<void>((resolve) => front.listen(0, host, resolve))
  return {
    port: (front.address() as Net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        front.close(() => resolve())
      })
  }
}
