/**
 * One emulator per test file: started before the file's tests, closed after them,
 * its controls reset before each test. With `env`, the file's process is pointed at it
 * (vitest runs each file in its own fork) and restored afterwards.
 */
import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import * as Emulator from "../../src/testing/Emulator.js"

export const useEmulator = (
  options: { readonly env?: boolean } & Emulator.EmulatorOptions = {}
): Emulator.EmulatorHandle => {
  let emulator: Emulator.EmulatorHandle | undefined
  const saved = { ...process.env }
  beforeAll(async () => {
    emulator = await Emulator.start(options)
    if (options.env === true) {
      Object.assign(process.env, emulator.env)
      process.env["GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS"] = "true"
    }
  })
  afterAll(async () => {
    if (options.env === true) process.env = saved
    await emulator?.close()
  })
  beforeEach(() => {
    emulator?.controls.reset()
    emulator?.controls.setClockOffset(0)
    emulator?.controls.setTokenLifetime(options.tokenLifetimeSeconds ?? 3600)
  })
  // The handle exists only once beforeAll ran: hand out a view that reads it lazily.
  return new Proxy({} as Emulator.EmulatorHandle, {
    get: (_target, property) => {
      if (emulator === undefined) throw new Error("the emulator starts in beforeAll")
      return emulator[property as keyof Emulator.EmulatorHandle]
    }
  })
}

/** Runs `f` with GOOGLE_APPLICATION_CREDENTIALS pointing at `file`. */
export const withCredentials = async <A>(file: string, f: () => Promise<A>): Promise<A> => {
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = file
  try {
    return await f()
  } finally {
    process.env["GOOGLE_APPLICATION_CREDENTIALS"] = ""
  }
}
