/**
 * The floor of P7: the plainest `node:http` proxy that could do the job, in its own
 * process as the signing proxy is. Per route a path prefix, an upstream and a fixed
 * `Authorization` header (a token fetched once by the parent); keep-alive to the
 * upstream, bodies piped. No limits, no header hygiene, no timeouts, no refresh: what is
 * left of a proxy when everything that makes ours safe is taken away.
 * Argument: `[{ prefix, upstream, authorization }]` as JSON. Prints `{"url": …}`.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { exitWithParent } from "./child.js"

const routes =
  (JSON.parse(process.argv[2] ?? "[]") as Array<{ prefix: string; upstream: string; authorization: string }>)
    .map((r) => ({ ...r, url: new URL(r.upstream) }))
const agent = new Http.Agent({ keepAlive: true })

const server = Http.createServer((req, res) => {
  const route = routes.find((r) => req.url?.startsWith(`${r.prefix}/`))
  if (route === undefined) return res.writeHead(404).end()
  const headers = { ...req.headers, host: route.url.host, authorization: route.authorization }
  const path = req.url!.slice(route.prefix.length)
  const upstream = Http.request({
    agent,
    hostname: route.url.hostname,
    port: route.url.port,
    method: req.method,
    path,
    headers
  }, (response) => {
    const { connection: _c, "keep-alive": _k, ...headers } = response.headers // this hop's own keep-alive, not the upstream's
    res.writeHead(response.statusCode ?? 502, headers)
    response.pipe(res)
  })
  upstream.on("error", () => res.destroy())
  req.pipe(upstream)
})

exitWithParent()
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }) + "\n")
})
