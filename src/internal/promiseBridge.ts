/**
 * The one bridge from Effect to Promises, used by every Promise facade: one
 * `ManagedRuntime` per client, calls that honour an `AbortSignal` (the fiber is
 * interrupted, so its request and socket close) and a `dispose` that interrupts every
 * call in flight (each rejects with `ClientClosed`). A failure rejects with the typed
 * error itself (tagged errors are `Error`s); a defect with its squashed cause.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { CallAborted, ClientClosed } from "../ClientError.js"

/** @internal */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined
}

/** @internal */
export interface PromiseBridge<R, ER> {
  /** Runs an Effect as a Promise; `operation` names the call in `CallAborted` / `ClientClosed`. */
  readonly run: <A, E>(operation: string, effect: Effect.Effect<A, E, R>, options?: CallOptions) => Promise<A>
  /** Interrupts every call in flight (they reject with `ClientClosed`), then closes the runtime. */
  readonly dispose: () => Promise<void>
  readonly runtime: ManagedRuntime.ManagedRuntime<R, ER>
}

/** @internal */
export const make = <R, ER>(layer: Layer.Layer<R, ER>): PromiseBridge<R, ER> => {
  const runtime = ManagedRuntime.make(layer)
  const inFlight = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  let disposed = false
  const run = <A, E>(operation: string, effect: Effect.Effect<A, E, R>, options: CallOptions = {}): Promise<A> => {
    if (disposed) return Promise.reject(new ClientClosed({ operation }))
    const signal = options.signal
    if (signal?.aborted === true) return Promise.reject(new CallAborted({ operation }))
    return new Promise<A>((resolve, reject) => {
      let aborted = false
      const fiber = runtime.runFork(effect)
      inFlight.add(fiber)
      const onAbort = () => {
        aborted = true
        Effect.runFork(Fiber.interrupt(fiber))
      }
      signal?.addEventListener("abort", onAbort, { once: true })
      fiber.addObserver((exit) => {
        inFlight.delete(fiber)
        signal?.removeEventListener("abort", onAbort)
        if (Exit.isSuccess(exit)) return resolve(exit.value)
        if (Cause.isInterruptedOnly(exit.cause)) {
          return reject(aborted ? new CallAborted({ operation }) : new ClientClosed({ operation }))
        }
        const failure = Cause.failureOption(exit.cause)
        reject(failure._tag === "Some" ? failure.value : Cause.squash(exit.cause))
      })
    })
  }
  const dispose = async (): Promise<void> => {
    disposed = true
    await Effect.runPromise(Fiber.interruptAll([...inFlight]))
    await runtime.dispose()
  }
  return { run, dispose, runtime }
}
