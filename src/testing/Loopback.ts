/**
 * One loopback `serve` for tests and demos: a node `RequestListener` on
 * `127.0.0.1` with an OS-chosen port, closed with every socket it holds (kept-alive
 * and streaming ones too), as a Promise or for the lifetime of a Scope.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"

/**
 * A listening loopback server.
 *
 * @since 0.1.0
 * @category Models
 */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly server: Http.Server
  /** stop listening and destroy every open connection; idempotent */
  close(): Promise<void>
}

/**
 * Serve `handler` on `127.0.0.1`, on a port the OS picks.
 *
 * @example
 * ```ts
 * import { Loopback } from "effect-adc/testing"
 *
 * const server = await Loopback.serve((_req, res) => res.end("ok"))
 * console.log(await (await fetch(server.url)).text()) // "ok"
 * await server.close()
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const serve = (handler: Http.RequestListener): Promise<LoopbackServer> =>
  new Promise((resolve, reject) => {
    const server = Http.createServer(handler)
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") {
        return reject(new Error("effect-adc/testing: no TCP address"))
      }
      let closing: Promise<void> | undefined
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        server,
        close: () =>
          closing ??= new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })

/**
 * {@link serve} for the lifetime of the current scope. A failure to listen (no
 * loopback) is a defect.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (handler: Http.RequestListener): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => serve(handler)),
    (server) => Effect.promise(() => server.close())
  )
