import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as AuthService from "../../src/auth/AuthService.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"
import { clocks, turns, waitUntil } from "./auth-support.js"

// The metadata server misbehaving (down, garbage, errors, slow, hanging, rate limiting),
// for both token kinds: every caller settles with the typed error, the number of
// requests is bounded, and while it hangs our timeout closes every socket on the
// server side. Then the layer build itself: a metadata server that was down when one
// build ran does not fail the next build once it is back.

const emulator = useEmulator({ env: true })

const CALLERS = 20
const layerOptions = () => ({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })

const buildAuth = (options: AuthService.Options = {}) =>
  Layer.build(AuthService.layer({ ...layerOptions(), ...options })).pipe(
    Effect.map(Context.get(AuthService.AuthService))
  )

type Kind = "access" | "id"
const endpointOf = (kind: Kind): Emulator.Endpoint => kind === "access" ? "metadata.token" : "metadata.identity"
/** Caller i asks for its own token (its own scope set or audience), so each makes a request. */
const callFor = (auth: AuthService.AuthService.Service, kind: Kind, i: number) =>
  kind === "access"
    ? auth.accessToken({ scopes: [`https://www.googleapis.com/auth/fault-${i}`] })
    : auth.idToken(`https://svc-${i}-uc.a.run.app`)

const tagOf = (exit: Exit.Exit<unknown, { readonly _tag: string; readonly reason?: string }>) =>
  Exit.isSuccess(exit)
    ? "success"
    : exit.cause._tag === "Fail"
    ? `${exit.cause.error._tag}${exit.cause.error.reason === undefined ? "" : `/${exit.cause.error.reason}`}`
    : exit.cause._tag

interface Fault {
  readonly name: string
  readonly failure: Emulator.Failure
  /** The tag every caller gets. */
  readonly expected: string
  /**
   * Requests per caller at most: 4 per fetch for a 5xx (3 retries, 250 ms doubling),
   * and the cache's own backoff may start one more fetch while time passes.
   */
  readonly requestsPerCaller: number
  /** TestClock time to let pass (timeouts, backoff). */
  readonly advance: string
}

const faults: ReadonlyArray<Fault> = [
  {
    name: "down (connection closed)",
    failure: { kind: "close" },
    expected: "TokenEndpointUnreachable/Unreachable",
    requestsPerCaller: 1,
    advance: "0 seconds"
  },
  {
    name: "garbage 200",
    failure: { kind: "garbage" },
    expected: "TokenResponseInvalid",
    requestsPerCaller: 1,
    advance: "0 seconds"
  },
  {
    name: "HTTP 404",
    failure: { kind: "status", status: 404, body: "not here" },
    expected: "TokenRequestRejected",
    requestsPerCaller: 1,
    advance: "0 seconds"
  },
  {
    name: "HTTP 503 every time",
    failure: { kind: "status", status: 503 },
    expected: "TokenEndpointUnreachable/Unreachable",
    requestsPerCaller: 8,
    advance: "10 seconds"
  },
  {
    name: "429 with Retry-After: 86400",
    failure: { kind: "status", status: 429, headers: { "Retry-After": "86400" } },
    expected: "TokenEndpointUnreachable/RateLimited",
    requestsPerCaller: 1,
    advance: "0 seconds"
  },
  {
    name: "hang",
    failure: { kind: "hang" },
    expected: "TokenEndpointUnreachable/Timeout",
    requestsPerCaller: 1,
    advance: "30 seconds"
  }
]

const figures = { cases: 0, callers: 0, settled: 0, requests: 0, socketsLeftOpen: 0 }

describe.each(["access", "id"] as const)("metadata server faults, %s tokens", (kind) => {
  it.scoped.each(faults)(
    "$name: every caller settles with the typed error, sockets closed",
    (fault) =>
      Effect.gen(function*() {
        yield* clocks(emulator, 0).start
        const auth = yield* buildAuth()
        const endpoint = endpointOf(kind)
        emulator.controls.fail(endpoint, fault.failure)
        const callers = yield* Effect.fork(
          Effect.all(Array.from({ length: CALLERS }, (_, i) => Effect.exit(callFor(auth, kind, i))), {
            concurrency: "unbounded"
          })
        )
        if (fault.failure.kind === "hang") {
          yield* waitUntil("every request to hang", () => emulator.controls.hangingSockets(endpoint) === CALLERS)
        }
        // Let time pass in small steps so I/O between retries can run.
        const total = Number.parseInt(fault.advance, 10)
        for (let s = 0; s < total && callers.unsafePoll() === null; s++) {
          yield* TestClock.adjust("1 second")
          yield* turns(5)
        }
        yield* waitUntil("every caller", () => callers.unsafePoll() !== null)
        const exits = yield* Fiber.join(callers)
        expect(exits.map(tagOf)).toEqual(Array.from({ length: CALLERS }, () => fault.expected))
        const requests = emulator.controls.count(endpoint)
        expect(requests).toBeLessThanOrEqual(CALLERS * fault.requestsPerCaller)
        yield* waitUntil("the hung sockets to close", () => emulator.controls.hangingSockets() === 0)
        figures.cases++
        figures.callers += CALLERS
        figures.settled += exits.length
        figures.requests += requests
        figures.socketsLeftOpen += emulator.controls.hangingSockets()
      })
  )

  it.scoped("429 with Retry-After: 2 is retried after 2 s, then the token arrives", () =>
    Effect.gen(function*() {
      yield* clocks(emulator, 0).start
      const auth = yield* buildAuth()
      const endpoint = endpointOf(kind)
      emulator.controls.fail(endpoint, { kind: "status", status: 429, headers: { "Retry-After": "2" } }, 2)
      const caller = yield* Effect.fork(Effect.exit(callFor(auth, kind, 0)))
      yield* waitUntil("the first 429", () => emulator.controls.count(endpoint) === 1)
      yield* TestClock.adjust("1900 millis")
      yield* turns()
      expect(emulator.controls.count(endpoint)).toBe(1) // not before Retry-After
      yield* TestClock.adjust("100 millis")
      yield* waitUntil("the second 429", () => emulator.controls.count(endpoint) === 2)
      yield* TestClock.adjust("2 seconds")
      yield* waitUntil("the token", () => caller.unsafePoll() !== null)
      expect(tagOf(yield* Fiber.join(caller))).toBe("success")
      expect(emulator.controls.count(endpoint)).toBe(3)
    }))
})

describe("layer builds against the metadata server", () => {
  it.scoped("down at one build, back for the next: the next build succeeds (availability is probed each time)", () =>
    Effect.gen(function*() {
      yield* clocks(emulator, 0).start
      emulator.controls.fail("metadata.other", { kind: "close" })
      const down = yield* Effect.exit(buildAuth())
      expect(tagOf(down)).toBe("CredentialsNotFound/NotFound")
      emulator.controls.clearFailures()
      const back = yield* Effect.exit(buildAuth())
      expect(tagOf(back)).toBe("success")
      if (Exit.isSuccess(back)) expect(back.value.identity.source).toBe("metadata")
    }))

  it.scoped("hanging at build: detection gives up after the probe timeout and closes its socket", () =>
    Effect.gen(function*() {
      yield* clocks(emulator, 0).start
      emulator.controls.fail("metadata.other", { kind: "hang" })
      const build = yield* Effect.fork(Effect.exit(buildAuth()))
      yield* waitUntil("the probe to hang", () => emulator.controls.hangingSockets("metadata.other") === 1)
      yield* TestClock.adjust("3 seconds")
      yield* waitUntil("the build", () => build.unsafePoll() !== null)
      expect(tagOf(yield* Fiber.join(build))).toBe("CredentialsNotFound/NotFound")
      yield* waitUntil("the probe's socket to close", () => emulator.controls.hangingSockets() === 0)
    }))
})

describe("figures", () => {
  it("prints the totals for docs/reliability.md", () => {
    console.log(`auth-metadata: ${JSON.stringify(figures)}`)
    expect(figures.cases).toBe(2 * faults.length)
    expect(figures.settled).toBe(figures.callers)
    expect(figures.socketsLeftOpen).toBe(0)
  })
})
