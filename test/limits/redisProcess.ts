/**
 * A real `redis-server` (Debian's package, on PATH) on a free loopback port, without
 * persistence: for the tests (through `useRedis`) and `npm run bench`. `stop` and `start`
 * take it away and bring it back on the same port.
 */
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"

export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess.ChildProcess | undefined
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const spawned = ChildProcess.spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      child = spawned
      let output = ""
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
      spawned.stdout.on("data", (data: Buffer) => {
        output += data.toString()
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer)
          resolve()
        }
      })
      spawned.once("error", (error) => {
        clearTimeout(timer)
        reject(error)
      })
      spawned.once("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}:\n${output}`))
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return resolve()
      running.once("exit", () => resolve())
      running.kill("SIGTERM")
    })
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, start, stop }
}
