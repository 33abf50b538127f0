import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AuthService from "../../src/auth/AuthService.js"
import { useEmulator } from "../support/emulator.js"
import { clocks, turns, waitUntil } from "./auth-support.js"

// Short-lived, margin-edge and expired tokens from the metadata server, both kinds, with
// the machine's clock behind or ahead of Google's. Each case: 100 concurrent cold
// callers, then 10 concurrent callers every 4 s for 120 s of TestClock time. Every caller must
// settle (a token, or TokenTooShortLived) without the clock moving, and the metadata
// server must see a bounded number of token requests (no hot loop).
//
// Expected, with the default cache (margin 60 s, minLifetime 10 s, refresh never before
// half the remaining life, backoff 1, 2, 4, … 60 s):
// - access tokens: `expires_in` is relative, so skew does not matter; 0 s is refused;
//   30, 60, 61 s are used (margin min(60 s, lifetime / 4));
// - ID tokens: `exp` is absolute, so the life seen is lifetime - skew, and never more
//   than exp - iat: 0 s is refused whatever the skew; behind (-5 min) the short ones are
//   used; ahead (+5, +59 min) they are already expired and refused; a 3600 s token is
//   used at +59 min (60 s seen: margin 15 s).

const emulator = useEmulator({ env: true })

const CALLERS = 100
const SECONDS = 120
const STEPS = 30
const PER_STEP = 10
/** Fetch bound of a case whose tokens are used: the first, then one per half remaining life. */
const usedBound = (lifeSeenSeconds: number) => 1 + Math.ceil(SECONDS / (lifeSeenSeconds / 2))
/** Fetch bound of a case whose tokens are refused: backoff steps (jittered 50–100%) in 120 s, plus the first. */
const REFUSED_BOUND = 12

type Kind = "access" | "id"
const lifetimes = [0, 30, 60, 61, 3600] as const
const skews = [
  { name: "-5 min", ms: -5 * 60_000 },
  { name: "+5 min", ms: 5 * 60_000 },
  { name: "+59 min", ms: 59 * 60_000 }
] as const

const audience = "https://svc-lifetimes-uc.a.run.app"

/** The life a token of `lifetime` seconds seems to have here, or none if it is refused. */
const lifeSeen = (kind: Kind, lifetime: number, skewMs: number): Option.Option<number> => {
  const seen = kind === "access" ? lifetime : Math.min(lifetime, lifetime - skewMs / 1000)
  return seen >= 10 ? Option.some(seen) : Option.none()
}

/** Figures for docs/reliability.md (printed once at the end). */
const figures = { cases: 0, callers: 0, settled: 0, fetches: 0, maxFetches: 0 }

describe.each(skews)("clock skew $name", (skew) => {
  describe.each(["access", "id"] as const)("%s tokens", (kind) => {
    it.scoped.each(lifetimes)(
      "lifetime %i s: every caller settles, fetches bounded",
      (lifetime) =>
        Effect.gen(function*() {
          emulator.controls.setTokenLifetime(lifetime)
          const clock = clocks(emulator, skew.ms)
          yield* clock.start
          const auth = yield* Layer.build(
            AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
          ).pipe(Effect.map(Context.get(AuthService.AuthService)))
          const endpoint = kind === "access" ? "metadata.token" : "metadata.identity"
          // A scope set of its own per case: the metadata server keeps handing out an access
          // token per scope set until 5 minutes before its expiry, across cases.
          const scopes = [`https://www.googleapis.com/auth/fault-case-${skew.ms}-${lifetime}`]
          const call = kind === "access"
            ? auth.accessToken({ scopes })
            : auth.idToken(`${audience}/${skew.ms}/${lifetime}`)
          const expected = lifeSeen(kind, lifetime, skew.ms)

          const check = (exit: Exit.Exit<unknown, { readonly _tag: string }>) => {
            if (Option.isSome(expected)) expect(Exit.isSuccess(exit)).toBe(true)
            else {
              expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "not a failure")
                .toBe("TokenTooShortLived")
            }
          }

          // 100 concurrent cold callers: they settle as soon as the one fetch answers.
          const cold = yield* Effect.fork(Effect.all(Array.from({ length: CALLERS }, () => Effect.exit(call)), {
            concurrency: "unbounded"
          }))
          yield* waitUntil("the cold callers", () => cold.unsafePoll() !== null)
          const exits = yield* Fiber.join(cold)
          exits.forEach(check)
          expect(emulator.controls.count(endpoint)).toBe(1)
          let settled = exits.length

          // Then 10 callers every 4 s: each settles within its step (no clock movement needed).
          for (let step = 0; step < STEPS; step++) {
            yield* clock.advance(`${SECONDS / STEPS} seconds`)
            const callers = yield* Effect.fork(Effect.all(Array.from({ length: PER_STEP }, () => Effect.exit(call)), {
              concurrency: "unbounded"
            }))
            yield* waitUntil(`the callers of step ${step}`, () => callers.unsafePoll() !== null)
            const later = yield* Fiber.join(callers)
            later.forEach(check)
            settled += later.length
          }
          yield* turns()
          const fetches = emulator.controls.count(endpoint)
          const bound = Option.match(expected, { onNone: () => REFUSED_BOUND, onSome: usedBound })
          expect(fetches).toBeLessThanOrEqual(bound)
          expect(settled).toBe(CALLERS + STEPS * PER_STEP)
          figures.cases++
          figures.callers += CALLERS + STEPS * PER_STEP
          figures.settled += settled
          figures.fetches += fetches
          figures.maxFetches = Math.max(figures.maxFetches, fetches)
        })
    )
  })
})

describe("figures", () => {
  it("prints the totals for docs/reliability.md", () => {
    console.log(`auth-lifetimes: ${JSON.stringify(figures)}`)
    expect(figures.cases).toBe(skews.length * 2 * lifetimes.length)
    expect(figures.settled).toBe(figures.callers)
  })
})
