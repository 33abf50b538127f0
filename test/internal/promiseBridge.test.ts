import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CallAborted, ClientClosed } from "../../src/ClientError.js"
import * as PromiseBridge from "../../src/internal/promiseBridge.js"

const pendingForever = (finalized: Array<string>, name: string) =>
  Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => finalized.push(name))))

describe("PromiseBridge", () => {
  it("an abort rejects the call with CallAborted and runs its finalizers", async () => {
    const bridge = PromiseBridge.make(Layer.empty)
    const finalized: Array<string> = []
    const controller = new AbortController()
    const call = bridge.run("generate", pendingForever(finalized, "a"), { signal: controller.signal })
    await new Promise((resolve) => setImmediate(resolve))
    controller.abort()
    const error = await call.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallAborted)
    expect(finalized).toEqual(["a"])
    await bridge.dispose()
  })

  it("an already aborted signal rejects without running the effect", async () => {
    const bridge = PromiseBridge.make(Layer.empty)
    let ran = false
    const error = await bridge.run("generate", Effect.sync(() => (ran = true)), { signal: AbortSignal.abort() }).catch((
      e: unknown
    ) => e)
    expect(error).toBeInstanceOf(CallAborted)
    expect(ran).toBe(false)
    await bridge.dispose()
  })

  it("dispose rejects every call in flight with ClientClosed and later calls at once", async () => {
    const bridge = PromiseBridge.make(Layer.empty)
    const finalized: Array<string> = []
    const calls = [bridge.run("a", pendingForever(finalized, "a")), bridge.run("b", pendingForever(finalized, "b"))]
    await new Promise((resolve) => setImmediate(resolve))
    await bridge.dispose()
    const errors = await Promise.all(calls.map((call) => call.catch((e: unknown) => e)))
    expect(errors.map((e) => e instanceof ClientClosed)).toEqual([true, true])
    expect(finalized.sort()).toEqual(["a", "b"])
    expect(await bridge.run("c", Effect.succeed(1)).catch((e: unknown) => e)).toBeInstanceOf(ClientClosed)
  })

  it("a typed failure rejects with the error itself", async () => {
    const bridge = PromiseBridge.make(Layer.empty)
    const failure = new CallAborted({ operation: "x" })
    expect(await bridge.run("c", Effect.fail(failure)).catch((e: unknown) => e)).toBe(failure)
    expect(await bridge.run("c", Effect.succeed(2))).toBe(2)
    await bridge.dispose()
  })
})
