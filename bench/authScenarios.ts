/**
 * Auth benchmarks: ours (AuthService) against google-auth-library in the same run, on
 * the loopback emulator. Each scenario returns rows; `bench/index.ts` prints them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { GoogleAuth } from "google-auth-library"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as AuthService from "../src/auth/AuthService.js"
import * as AuthToken from "../src/auth/AuthToken.js"
import type { CredentialSource } from "../src/auth/CredentialSource.js"
import type { TokenTarget } from "../src/auth/TokenTarget.js"
import * as Emulator from "../src/testing/Emulator.js"

/** One printed line: a measure for ours and the peer, and how they compare. */
export interface Row {
  readonly scenario: string
  readonly measure: string
  readonly ours: string
  readonly peer: string
  readonly peerName: string
  readonly ratio: string
  /**
   * The row's figures as flat numeric keys (`p7.proxy_rps`), written by
   * `npm run bench -- --json PATH` for checks to read.
   */
  readonly figures?: Readonly<Record<string, number>> | undefined
}

const audience = "https://gemma-abc123-uc.a.run.app"

/** Starts the emulator and points this process at it (metadata server, as on Cloud Run). */
export const withEmulator = async <A>(
  options: Emulator.EmulatorOptions,
  f: (emulator: Emulator.EmulatorHandle) => Promise<A>
): Promise<A> => {
  const emulator = await Emulator.start(options)
  Object.assign(process.env, emulator.env)
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  try {
    return await f(emulator)
  } finally {
    await emulator.close()
  }
}

const ours = (emulator: Emulator.EmulatorHandle, cache?: AuthService.Options["cache"]) =>
  ManagedRuntime.make(
    AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions, cache })
  )

const peerAuth = (emulator: Emulator.EmulatorHandle, eagerRefreshThresholdMillis?: number) =>
  new GoogleAuth({
    projectId: emulator.projectId,
    scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    clientOptions: {
      ...emulator.clientOptions,
      ...(eagerRefreshThresholdMillis === undefined ? {} : { eagerRefreshThresholdMillis })
    }
  })

const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "1.00x" : "∞") : `${(a / b).toFixed(2)}x`)

/** 1. Cold stampede: N concurrent first calls → token fetches seen by the emulator. */
export const coldStampede = (sizes: ReadonlyArray<number>): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    const rows: Array<Row> = []
    for (const n of sizes) {
      for (const kind of ["access", "id"] as const) {
        const endpoint = kind === "access" ? "metadata.token" : "metadata.identity"
        emulator.controls.reset()
        emulator.controls.setLatency(endpoint, 20)
        const runtime = ours(emulator)
        await runtime.runPromise(Effect.all(
          Array.from({ length: n }, () =>
            Effect.flatMap(AuthService.AuthService, (a) =>
              a.token(
                kind === "access" ? { kind: "access" } : { kind: "id", audience }
              ))),
          { concurrency: "unbounded" }
        ))
        const oursFetches = emulator.controls.count(endpoint)
        await runtime.dispose()

        emulator.controls.reset()
        emulator.controls.setLatency(endpoint, 20)
        const auth = peerAuth(emulator)
        if (kind === "access") {
          const client = await auth.getClient()
          await Promise.all(Array.from({ length: n }, () => client.getAccessToken()))
        } else {
          const client = await auth.getIdTokenClient(audience)
          await Promise.all(Array.from({ length: n }, () => client.getRequestHeaders()))
        }
        const peerFetches = emulator.controls.count(endpoint)
        rows.push({
          scenario: "cold stampede",
          measure: `${n} concurrent ${kind} callers → fetches`,
          ours: String(oursFetches),
          peer: String(peerFetches),
          peerName: kind === "access" ? "gal getAccessToken" : "gal IdTokenClient",
          ratio: `${ratio(peerFetches, oursFetches)} fewer`
        })
      }
    }
    emulator.controls.reset()
    return rows
  })

const percentiles = (samples: Float64Array) => {
  const sorted = Float64Array.from(samples).sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { p50: at(0.5), p99: at(0.99) }
}

const us = (ms: number) => `${(ms * 1000).toFixed(2)} µs`

/** 2. Warm header cost: per-call median and p99 over `calls` warm calls. */
export const warmHeaders = (calls: number): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    const runtime = ours(emulator)
    const client = AuthClient.fromLayer(
      AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    )
    const auth = peerAuth(emulator)
    const peerAccess = await auth.getClient()
    const peerId = await auth.getIdTokenClient(audience)
    const rows: Array<Row> = []

    const floorSamples = new Float64Array(calls)
    const noop = async () => undefined
    for (let i = 0; i < calls; i++) {
      const t = performance.now()
      await noop()
      floorSamples[i] = performance.now() - t
    }
    const floor = percentiles(floorSamples)

    for (const kind of ["access", "id"] as const) {
      const target = kind === "access" ? { kind: "access" } as const : { kind: "id", audience } as const
      // Inside one running fiber.
      const fiberSamples = await runtime.runPromise(Effect.gen(function*() {
        const service = yield* AuthService.AuthService
        yield* service.headers(target)
        const samples = new Float64Array(calls)
        for (let i = 0; i < calls; i++) {
          const t = performance.now()
          yield* service.headers(target)
          samples[i] = performance.now() - t
        }
        return samples
      }))
      // Through the Promise facade (what a non-Effect caller or the signing fetch pays).
      const promiseSamples = new Float64Array(calls)
      await client.headers(target)
      for (let i = 0; i < calls; i++) {
        const t = performance.now()
        await client.headers(target)
        promiseSamples[i] = performance.now() - t
      }
      const peerClient = kind === "access" ? peerAccess : peerId
      await peerClient.getRequestHeaders()
      const peerSamples = new Float64Array(calls)
      for (let i = 0; i < calls; i++) {
        const t = performance.now()
        await peerClient.getRequestHeaders()
        peerSamples[i] = performance.now() - t
      }
      const f = percentiles(fiberSamples)
      const p = percentiles(promiseSamples)
      const g = percentiles(peerSamples)
      const peerName = `gal getRequestHeaders (floor: awaited no-op p50 ${us(floor.p50)})`
      rows.push({
        scenario: "warm headers",
        measure: `${kind}, in a fiber, p50 / p99`,
        ours: `${us(f.p50)} / ${us(f.p99)}`,
        peer: `${us(g.p50)} / ${us(g.p99)}`,
        peerName,
        ratio: `${ratio(g.p50, f.p50)} faster (p50)`
      })
      rows.push({
        scenario: "warm headers",
        measure: `${kind}, via the Promise AuthClient, p50 / p99`,
        ours: `${us(p.p50)} / ${us(p.p99)}`,
        peer: `${us(g.p50)} / ${us(g.p99)}`,
        peerName,
        ratio: `${ratio(g.p50, p.p50)} faster (p50)`
      })
    }
    await runtime.dispose()
    await client.close()
    return rows
  })

/**
 * 3. Expiry stall: short tokens, slow token endpoint, a call every `intervalMs` for
 * `durationMs` → calls that waited longer than 10 ms / 100 ms. Ours and the peer run
 * side by side against the same emulator.
 */
export const expiryStall = (options: {
  readonly lifetimeSeconds: number
  readonly latencyMs: number
  readonly intervalMs: number
  readonly durationMs: number
}): Promise<Array<Row>> =>
  // A reuse window as long as the lifetime: the metadata server mints a fresh token on every request.
  withEmulator({
    tokenLifetimeSeconds: options.lifetimeSeconds,
    metadataReuseWindowSeconds: options.lifetimeSeconds
  }, async (emulator) => {
    emulator.controls.setLatency("metadata.token", options.latencyMs)
    emulator.controls.setLatency("metadata.identity", options.latencyMs)
    const client = AuthClient.make({
      projectId: emulator.projectId,
      clientOptions: emulator.clientOptions,
      cache: { margin: "1 second", refreshAhead: "2 seconds", retryInitial: "100 millis" }
    })
    const auth = peerAuth(emulator, 2000)
    const peerAccess = await auth.getClient()
    const peerId = await auth.getIdTokenClient(audience)
    peerId.eagerRefreshThresholdMillis = 2000

    const drive = async (call: () => Promise<unknown>) => {
      const waits: Array<number> = []
      const end = Date.now() + options.durationMs
      const inflight: Array<Promise<void>> = []
      while (Date.now() < end) {
        const t = performance.now()
        // A failed call counts as an endless wait.
        inflight.push(
          call().then(
            () => void waits.push(performance.now() - t),
            () => void waits.push(Number.POSITIVE_INFINITY)
          )
        )
        await new Promise((r) => setTimeout(r, options.intervalMs))
      }
      await Promise.all(inflight)
      return waits
    }
    const oursCall = (target: TokenTarget) => () => client.headers(target)
    // Warm both up first.
    await oursCall({ kind: "access" })()
    await oursCall({ kind: "id", audience })()
    await peerAccess.getRequestHeaders()
    await peerId.getRequestHeaders()

    const [oa, oi, pa, pi] = await Promise.all([
      drive(oursCall({ kind: "access" })),
      drive(oursCall({ kind: "id", audience })),
      drive(() => peerAccess.getRequestHeaders()),
      drive(() => peerId.getRequestHeaders())
    ])
    await client.close()
    const over = (waits: ReadonlyArray<number>, ms: number) => waits.filter((w) => w > ms).length
    const rows: Array<Row> = []
    for (const [kind, o, p] of [["access", oa, pa], ["id", oi, pi]] as const) {
      rows.push({
        scenario: "expiry stall",
        measure: `${kind}: calls waiting >10 ms / >100 ms (of ${o.length} / ${p.length})`,
        ours: `${over(o, 10)} / ${over(o, 100)}`,
        peer: `${over(p, 10)} / ${over(p, 100)}`,
        peerName: "gal getRequestHeaders, eager 2 s (ours: AuthClient.headers)",
        ratio: `${over(p, 100) - over(o, 100)} fewer stalls >100 ms`
      })
    }
    return rows
  })

/**
 * 8. Scale model: simulated hours at a request rate with 1-hour tokens (TestClock and
 * an in-memory source) → fetches per key per hour, which must not grow with the rate.
 */
export const scaleModel = (rates: ReadonlyArray<number>, hours: number): Promise<Array<Row>> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const rows: Array<Row> = []
      for (const rate of rates) {
        const fetches = yield* Ref.make(0)
        const source: CredentialSource = {
          identity: {
            source: "other",
            origin: "bench",
            principal: undefined,
            projectId: undefined,
            quotaProject: undefined,
            idTokens: { audience: "requested" }
          },
          fetchAccessToken: () =>
            Effect.gen(function*() {
              const n = yield* Ref.updateAndGet(fetches, (k) => k + 1)
              const now = yield* Clock.currentTimeMillis
              return AuthToken.make("access", `token-${n}`, now + 3600_000)
            }),
          fetchIdToken: () => Effect.die("unused")
        }
        yield* Effect.scoped(Effect.gen(function*() {
          const service = yield* AuthService.make(source)
          // Each simulated minute: rate × 60 calls, then the clock moves one minute.
          const minutes = hours * 60
          const loop = Effect.gen(function*() {
            for (let m = 0; m < minutes; m++) {
              for (let i = 0; i < rate * 60; i++) yield* service.accessToken()
              yield* Effect.sleep("1 minute")
            }
          })
          const fiber = yield* Effect.fork(loop)
          for (let m = 0; m < minutes; m++) yield* TestClock.adjust("1 minute")
          yield* Fiber.join(fiber)
        }))
        const count = yield* Ref.get(fetches)
        rows.push({
          scenario: "scale model",
          measure: `${rate} req/s, ${hours} simulated h, 1-h tokens → fetches/key/h`,
          ours: `${(count / hours).toFixed(2)} (${count} in all)`,
          peer: "—",
          peerName: "must not grow with the rate",
          ratio: `${((rate * 3600 * hours) / count).toFixed(0)} calls per fetch`
        })
      }
      return rows
    }).pipe(Effect.provide(TestContext.TestContext))
  )
