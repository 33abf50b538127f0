/**
 * A real `redis-server` per test file (Debian's package, on PATH; `.ci/run` installs
 * it) on a free loopback port, without persistence, stopped after the file. `stop` and
 * `start` let a test take it away mid-run and bring it back on the same port.
 */
import { afterAll, beforeAll } from "@effect/vitest"
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

/** One redis-server for the file: started before its tests, stopped after them. */
export const useRedis = (): RedisServer => {
  let server: RedisServer | undefined
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })
  return new Proxy({} as RedisServer, {
    get: (_target, property) => {
      if (server === undefined) throw new Error("redis-server starts in beforeAll")
      return server[property as keyof RedisServer]
    }
  })
}
