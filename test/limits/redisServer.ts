/**
 * One real `redis-server` per test file (`.ci/run` installs it) on a free loopback port,
 * without persistence, stopped after the file.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { type RedisServer, startRedis } from "./redisProcess.js"

export type { RedisServer }

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
