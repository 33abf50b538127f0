/**
 * The hop without HTTP, for scenario 7's time-to-first-byte row: a TCP relay in its own
 * process that pipes every connection to one upstream, byte for byte (no parsing, no
 * headers changed: the client sends the upstream's token itself). What it adds to a
 * direct call is what one more process on the path costs on this machine (the wakes and
 * the copies), so the row can tell that apart from what an HTTP proxy's own work costs.
 * Argument: the upstream's URL. Prints `{"url": …}`.
 */
import * as Net from "node:net"
import { exitWithParent } from "./child.js"

const upstream = new URL(process.argv[2] ?? "")

const server = Net.createServer({ noDelay: true }, (client) => {
  const out = Net.connect({ host: upstream.hostname, port: Number(upstream.port), noDelay: true })
  client.pipe(out)
  out.pipe(client)
  client.on("error", () => out.destroy())
  out.on("error", () => client.destroy())
  client.on("close", () => out.destroy())
  out.on("close", () => client.destroy())
})

exitWithParent()
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}` }) + "\n")
})
