/**
 * Loopback HTTP plumbing shared by the emulator's servers: listen on
 * 127.0.0.1 with an OS-chosen port, keep idle connections open as Google's front ends
 * do, close every socket promptly on close(), read bodies
 * with a limit, write responses without throwing on dead sockets.
 *
 * @internal
 */
import * as Http from "node:http"

/** @internal */
export type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => Promise<void>

/** @internal */
export interface LoopbackServer {
  readonly server: Http.Server
  readonly port: number
  /** `127.0.0.1:PORT` */
  readonly host: string
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly close: () => Promise<void>
}

/** How long an idle connection stays open (the Node default is 5 s). @internal */
export const KEEP_ALIVE_TIMEOUT_MS = 610_000

/** @internal */
export const listen = (
  handler: Handler,
  onError: (req: Http.IncomingMessage, res: Http.ServerResponse, error: unknown) => void
): Promise<LoopbackServer> =>
  new Promise((resolve, reject) => {
    const server = Http.createServer((req, res) => {
      handler(req, res).catch((error: unknown) => onError(req, res, error))
    })
    // Google Cloud's front ends keep an idle connection open 610 s; so do we (a client
    // that pools connections reuses them, as it would against Google). close() still
    // ends every connection at once.
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
    server.on("clientError", (_error, socket) => socket.destroy())
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no TCP address"))
      let closing: Promise<void> | undefined
      const close = () => {
        closing ??= new Promise<void>((done) => {
          server.close(() => done())
          server.closeAllConnections()
        })
        return closing
      }
      resolve({
        server,
        port: address.port,
        host: `127.0.0.1:${address.port}`,
        url: `http://127.0.0.1:${address.port}`,
        close
      })
    })
  })

/** @internal */
export class BodyTooLarge extends Error {}

/** @internal */
export const readBody = (req: Http.IncomingMessage, limit = 1 << 20): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new BodyTooLarge())
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
    req.on("aborted", () => reject(new Error("aborted")))
  })

/** Write a complete response; a no-op when the client is gone. @internal */
export const send = (
  res: Http.ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string | Buffer = ""
): void => {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  const buffer = typeof body === "string" ? Buffer.from(body, "utf8") : body
  res.writeHead(status, { ...headers, "Content-Length": String(buffer.length) })
  res.end(buffer)
}

/** The request path and query. @internal */
export const requestUrl = (req: Http.IncomingMessage): URL => new URL(req.url ?? "/", "http://emulator.invalid")

/** The bearer token of a header value (case-insensitive scheme), if any. @internal */
export const bearer = (value: string | ReadonlyArray<string> | undefined): string | undefined => {
  const header = Array.isArray(value) ? value[0] : value
  if (typeof header !== "string") return undefined
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/** Escape for HTML text. @internal */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** `decodeURIComponent` that answers `undefined` for malformed escapes. @internal */
export const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}
