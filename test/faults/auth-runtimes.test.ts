import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as TestClock from "effect/TestClock"
import * as AuthService from "../../src/auth/AuthService.js"
import { useEmulator } from "../support/emulator.js"
import { waitUntil } from "./auth-support.js"

// One AuthService, callers on other clocks: the service is built by a runtime of its own
// (live clock, as an app's ManagedRuntime or a shared test fixture), its callers run
// under a TestClock (at 0, or two hours ahead of the wall clock). The cache measures
// everything by its own clock, so the first caller's clock neither dates the token nor
// drives the refresh: a second caller is served from the cache at once, with no request,
// and no cache timer sits on the caller's clock. A cache whose refresh loop ran on its
// first caller's clock failed all four: a token dated 1970 by a TestClock at 0, read as
// expired by the cache's own clock, left every later caller waiting for a refresh that
// never published (a stale refresh of a token "usable" by the loop's clock settles no
// one, and its backoff slept on a clock nobody moves); a caller two hours ahead got a
// fresh ID token refused as TokenTooShortLived; and the refresh timers sat on the caller's
// TestClock.

const emulator = useEmulator({ env: true })

const audience = "https://svc-runtimes-uc.a.run.app"
const targets = [
  { name: "access token", call: (auth: AuthService.AuthService.Service) => auth.accessToken() },
  { name: "ID token", call: (auth: AuthService.AuthService.Service) => auth.idToken(audience) }
] as const
const callerClocks = [
  { name: "a TestClock at 0", offset: undefined },
  { name: "a TestClock two hours ahead", offset: Duration.hours(2) }
] as const
const cells = targets.flatMap((target) => callerClocks.map((clock) => ({ target, clock })))

const totalRequests = () => Object.values(emulator.controls.counts()).reduce((a, b) => a + b, 0)

describe("AuthService built by another runtime, called under a TestClock", () => {
  it.effect.each(cells)(
    "$target.name from $clock.name: the second caller is served from the cache at once",
    ({ clock, target }) =>
      Effect.gen(function*() {
        if (clock.offset !== undefined) yield* TestClock.setTime(Date.now() + Duration.toMillis(clock.offset))
        const runtime = ManagedRuntime.make(
          AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
        )
        yield* Effect.gen(function*() {
          const auth = yield* Effect.promise(() => runtime.runPromise(AuthService.AuthService))
          const first = yield* target.call(auth)
          const requests = totalRequests()
          const fiber = yield* Effect.fork(target.call(auth))
          yield* waitUntil("the second caller", () => fiber.unsafePoll() !== null, 2000).pipe(
            Effect.onError(() => Fiber.interrupt(fiber))
          )
          const second = yield* Fiber.await(fiber)
          expect(Exit.isSuccess(second) && second.value === first).toBe(true)
          expect(totalRequests()).toBe(requests)
          // the refresh timer is the cache's, on its own clock
          expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toEqual([])
        }).pipe(Effect.ensuring(Effect.promise(() => runtime.dispose())))
      })
  )
})
