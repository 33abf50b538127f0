/**
 * `readBytes` and `readDecoded` (src/http/internal/readable.ts) on real Node readables:
 * PassThrough, `Readable.from` and a loopback socket.
 *
 * Matrices:
 * - the bytes delivered equal the bytes written, for every way of splitting the body
 *   in the matrix (one write, a byte per write, empty writes, every two-way and
 *   three-way split), written before the read starts and while it waits;
 * - how the readable ends (error before the read / during a wait / after bytes,
 *   destroyed without error before / while reading, already ended): the outcome, the
 *   bytes before it, `onAbandon` once unless the body was complete, no listener left,
 *   the readable destroyed;
 * - bounded waits under the live clock with real 20-100 ms deadlines: which timeout,
 *   the bytes before it, no timer left after any end, interruption settles;
 * - a decoder inside the read: every split decoded as the same decoder after the byte
 *   stream decodes it, its end once; a push or an end that fails (the elements before
 *   it delivered, abandoned only when the body was not over); a body that fails or is
 *   destroyed while the read waits.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"
import * as Stream from "effect/Stream"
import * as Net from "node:net"
import { PassThrough, Readable } from "node:stream"
import { readBytes, readDecoded } from "../../src/http/internal/readable.js"
import type { Decoder } from "../../src/internal/boundedBody.js"
import { through } from "../../src/model/internal/stream.js"

type Failure =
  | { readonly _tag: "Failed"; readonly cause: unknown }
  | { readonly _tag: "TimedOut"; readonly started: boolean }

interface Bounds {
  readonly firstMillis?: number
  readonly idleMillis?: number
}

/** How a read went: its exit, the bytes delivered, how often `onAbandon` ran. */
interface Outcome {
  readonly exit: Exit.Exit<void, Failure>
  readonly bytes: Buffer
  readonly abandoned: () => number
  /** The readable's listener counts before the read. */
  readonly listeners: Record<string, number>
}

const events = ["readable", "end", "error", "close", "data"] as const
const listenersOf = (readable: Readable): Record<string, number> =>
  Object.fromEntries(events.map((event) => [event, readable.listenerCount(event)]))

/** A read of `readable` with `readBytes`, watched while it runs: the bytes so far, how often `onAbandon` ran. */
const watched = (readable: Readable, bounds: Bounds = {}) => {
  let abandoned = 0
  const parts: Array<Uint8Array> = []
  const listeners = listenersOf(readable)
  const reading = readBytes<Failure>(readable, {
    onError: (cause) => ({ _tag: "Failed", cause }),
    onTimeout: (started) => ({ _tag: "TimedOut", started }),
    firstMillis: bounds.firstMillis,
    idleMillis: bounds.idleMillis,
    onAbandon: () => {
      abandoned++
    }
  }).pipe(Stream.runForEach((part) => Effect.sync(() => parts.push(part))))
  return { reading, parts, abandoned: () => abandoned, listeners }
}

/** Reads `readable` to its end with `readBytes`. */
const read = (readable: Readable, bounds: Bounds = {}): Effect.Effect<Outcome> =>
  Effect.suspend(() => {
    const { abandoned, listeners, parts, reading } = watched(readable, bounds)
    return Effect.map(Effect.exit(reading), (exit) => ({ exit, bytes: Buffer.concat(parts), abandoned, listeners }))
  })

/** One turn of the event loop (I/O, timers and nextTicks run). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
const tick = Effect.promise(turn)
const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** The live `setTimeout`s of the process (vitest's own included: compare counts). */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length

/** Lets real I/O run until `readable` has the read's listener (the read started and waits). */
const untilReading = (readable: Readable) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000 && readable.listenerCount("readable") === 0; i++) yield* tick
    expect(readable.listenerCount("readable")).toBe(1)
    // one more turn: the loop found nothing and waits
    yield* tick
  })

/**
 * The read's listeners are gone (the counts from before the read) and the readable is
 * destroyed; given the timer count from before the read, no timer of the read is left.
 */
const released = (readable: Readable, outcome: Outcome, timersBefore?: number) => {
  expect(listenersOf(readable)).toEqual(outcome.listeners)
  expect(readable.destroyed).toBe(true)
  if (timersBefore !== undefined) expect(timers()).toBeLessThanOrEqual(timersBefore)
}

/** Writes the first `n` bytes of `body` one per write, `gapMillis` apart, `after` following each write. */
const trickle = (readable: PassThrough, n: number, gapMillis: number, after: Effect.Effect<unknown> = Effect.void) =>
  Effect.forEach(
    body.subarray(0, n),
    (byte) =>
      Effect.promise(() => sleep(gapMillis)).pipe(
        Effect.zipRight(Effect.sync(() => readable.write(Buffer.from([byte])))),
        Effect.zipRight(after)
      ),
    { discard: true }
  )

/** A bounded read of `readable`, forked, once it waits for bytes. */
const waiting = (readable: Readable, bounds: Bounds) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(read(readable, bounds))
    yield* untilReading(readable)
    return fiber
  })

const failedWith = (exit: Exit.Exit<void, Failure>): Failure | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

const body = Buffer.from("Grüße, 世界 🌍!\n{\"a\":1}\n", "utf8")

/** The ways of writing `body` the matrix covers. */
const splits: ReadonlyArray<{ readonly name: string; readonly pieces: ReadonlyArray<Buffer> }> = (() => {
  const out: Array<{ name: string; pieces: Array<Buffer> }> = []
  const empty = Buffer.alloc(0)
  out.push({ name: "one write", pieces: [body] })
  out.push({ name: "a byte per write", pieces: [...body].map((byte) => Buffer.from([byte])) })
  out.push({ name: "empty writes only, then the body", pieces: [empty, empty, body] })
  out.push({
    name: "empty writes around and between bytes",
    pieces: [empty, ...[...body].flatMap((byte) => [Buffer.from([byte]), empty])]
  })
  for (let at = 1; at < body.length; at++) {
    out.push({ name: `two writes cut at ${at}`, pieces: [body.subarray(0, at), body.subarray(at)] })
  }
  for (let i = 1; i < body.length; i += 3) {
    for (let j = i + 1; j < body.length; j += 4) {
      out.push({
        name: `three writes cut at ${i} and ${j}`,
        pieces: [body.subarray(0, i), body.subarray(i, j), body.subarray(j)]
      })
    }
  }
  return out
})()

const source = (): PassThrough => new PassThrough()

/** The read got the whole body: success, every byte, no abandon (a turn later), the readable released. */
const readWhole = (readable: Readable, outcome: Outcome, name: string) =>
  Effect.gen(function*() {
    expect(Exit.isSuccess(outcome.exit), name).toBe(true)
    expect(outcome.bytes.equals(body), name).toBe(true)
    yield* tick
    expect(outcome.abandoned(), name).toBe(0)
    released(readable, outcome)
  })

describe("readBytes: the bytes delivered are the bytes written", () => {
  it.effect(`${splits.length} splits written before the read starts (PassThrough)`, () =>
    Effect.gen(function*() {
      let cases = 0
      for (const { name, pieces } of splits) {
        const readable = source()
        for (const piece of pieces) readable.write(piece)
        readable.end()
        const outcome = yield* read(readable)
        yield* readWhole(readable, outcome, name)
        cases++
      }
      expect(cases).toBe(splits.length)
    }))

  it.effect(`${splits.length} splits written while the read waits (a turn of the event loop between writes)`, () =>
    Effect.gen(function*() {
      let cases = 0
      for (const { name, pieces } of splits) {
        const readable = source()
        const fiber = yield* Effect.fork(read(readable))
        yield* untilReading(readable)
        for (const piece of pieces) {
          readable.write(piece)
          yield* tick
        }
        readable.end()
        const outcome = yield* Fiber.join(fiber)
        yield* readWhole(readable, outcome, name)
        cases++
      }
      expect(cases).toBe(splits.length)
    }))

  it.effect(`${splits.length} splits as Readable.from items (object mode), read before and after they flow`, () =>
    Effect.gen(function*() {
      for (const { name, pieces } of splits) {
        const fromArray = yield* read(Readable.from(pieces))
        expect(fromArray.bytes.equals(body), name).toBe(true)
        const generated = Readable.from((async function*() {
          for (const piece of pieces) {
            await turn()
            yield piece
          }
        })())
        const fromGenerator = yield* read(generated)
        expect(Exit.isSuccess(fromGenerator.exit), name).toBe(true)
        expect(fromGenerator.bytes.equals(body), name).toBe(true)
        expect(fromArray.abandoned() + fromGenerator.abandoned(), name).toBe(0)
      }
    }))

  const schedules = [16, 24, 32, 48].flatMap((ops) => [-1, 0, 1, 2].map((delay) => ({ ops, delay })))
  it.live(
    `${schedules.length} schedules where the read's fiber yields to the event loop (a timer task every 16-48 ops): bytes written during a yield are read, not left behind by a lost wake-up`,
    () =>
      Effect.gen(function*() {
        for (const { delay, ops } of schedules) {
          const readable = source()
          const fiber = yield* Effect.fork(
            read(readable, { firstMillis: 300, idleMillis: 20 }).pipe(
              Effect.withScheduler(Scheduler.timer(0)),
              Effect.withMaxOpsBeforeYield(ops)
            )
          )
          const write = () => readable.write(head)
          if (delay < 0) setImmediate(write)
          else setTimeout(write, delay)
          // the body stalls after its first bytes: a lost wake-up would read as "no bytes at all"
          const outcome = yield* Fiber.join(fiber)
          expect(failedWith(outcome.exit), `ops ${ops}, delay ${delay}`).toEqual({ _tag: "TimedOut", started: true })
          expect(outcome.bytes.equals(head)).toBe(true)
        }
      })
  )
})

describe("readBytes on a loopback socket", () => {
  /** A server that writes `pieces` a turn apart, then ends, resets the connection, or stalls. */
  const withSocket = (pieces: ReadonlyArray<Buffer>, then: "end" | "reset" | "stall") =>
    Effect.acquireRelease(
      Effect.promise(() =>
        new Promise<{ server: Net.Server; socket: Net.Socket; closed: Promise<void> }>((resolve) => {
          let closed!: Promise<void>
          const server = Net.createServer(async (peer) => {
            closed = new Promise((done) => peer.on("close", () => done()))
            for (const piece of pieces) {
              peer.write(piece)
              await sleep(1)
            }
            if (then === "end") peer.end()
            else if (then === "reset") peer.resetAndDestroy()
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as Net.AddressInfo
            const socket = Net.connect(port, "127.0.0.1", () =>
              resolve({
                server,
                socket,
                get closed() {
                  return closed
                }
              }))
          })
        })
      ),
      ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
    )

  it.scoped.each(splits.filter((_, i) => i < 4 || i % 8 === 0).map((split) => split))(
    "$name: the bytes sent arrive, the body is complete (no abandon)",
    ({ pieces }) =>
      Effect.gen(function*() {
        const { socket } = yield* withSocket(pieces, "end")
        const outcome = yield* read(socket)
        const { abandoned, bytes, exit } = outcome
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(bytes.equals(body)).toBe(true)
        expect(abandoned()).toBe(0)
        released(socket, outcome)
      })
  )

  it.scoped("a connection reset after some bytes fails with its error, the bytes before it delivered", () =>
    Effect.gen(function*() {
      const { closed, socket } = yield* withSocket([body.subarray(0, 5)], "reset")
      const outcome = yield* read(socket)
      const { abandoned, bytes, exit } = outcome
      const failure = failedWith(exit)
      expect(failure?._tag).toBe("Failed")
      expect(failure?._tag === "Failed" && (failure.cause as NodeJS.ErrnoException).code).toBe("ECONNRESET")
      expect(bytes.equals(body.subarray(0, 5))).toBe(true)
      expect(abandoned()).toBe(1)
      released(socket, outcome)
      yield* Effect.promise(() => closed)
    }))

  it.scopedLive("a stall on a socket times out (live clock), and the socket is destroyed: the server sees it close", () =>
    Effect.gen(function*() {
      const { closed, socket } = yield* withSocket([body.subarray(0, 3)], "stall")
      const outcome = yield* read(socket, { firstMillis: 1_000, idleMillis: 30 })
      const { abandoned, bytes, exit } = outcome
      expect(failedWith(exit)).toEqual({ _tag: "TimedOut", started: true })
      expect(bytes.equals(body.subarray(0, 3))).toBe(true)
      expect(abandoned()).toBe(1)
      released(socket, outcome)
      yield* Effect.promise(() => closed)
    }))
})

/** How a readable ends, and what the read must give. */
interface Ending {
  readonly name: string
  /** Drives `readable` (the read runs while it does when `during`). */
  readonly run: (readable: PassThrough) => Promise<void> | void
  readonly during: boolean
  readonly bytes: Buffer
  readonly outcome: "complete" | "failed" | "ended early"
}

const boom = new Error("boom")
const head = body.subarray(0, 7)

const endings: ReadonlyArray<Ending> = [
  {
    name: "an error before the read",
    during: false,
    bytes: Buffer.alloc(0),
    outcome: "failed",
    run: (readable) => {
      // someone listens (undici does), so that the error event does not crash the process
      readable.on("error", () => {})
      readable.destroy(boom)
    }
  },
  {
    name: "bytes then an error, both before the read",
    during: false,
    bytes: head,
    outcome: "failed",
    run: (readable) => {
      readable.on("error", () => {})
      readable.write(head)
      readable.destroy(boom)
    }
  },
  {
    name: "an error during a wait",
    during: true,
    bytes: Buffer.alloc(0),
    outcome: "failed",
    run: (readable) => void readable.destroy(boom)
  },
  {
    name: "an error after some bytes (read while waiting)",
    during: true,
    bytes: head,
    outcome: "failed",
    run: async (readable) => {
      readable.write(head)
      await turn()
      await turn()
      readable.destroy(boom)
    }
  },
  {
    name: "destroyed without an error before the read",
    during: false,
    bytes: Buffer.alloc(0),
    outcome: "ended early",
    run: (readable) => void readable.destroy()
  },
  {
    name: "destroyed without an error during a wait",
    during: true,
    bytes: Buffer.alloc(0),
    outcome: "ended early",
    run: (readable) => void readable.destroy()
  },
  {
    name: "destroyed without an error after some bytes",
    during: true,
    bytes: head,
    outcome: "ended early",
    run: async (readable) => {
      readable.write(head)
      await turn()
      await turn()
      readable.destroy()
    }
  },
  {
    name: "already ended (its end event emitted) before the read",
    during: false,
    bytes: Buffer.alloc(0),
    outcome: "complete",
    run: async (readable) => {
      readable.end()
      readable.resume()
      await new Promise((resolve) => readable.once("end", resolve))
      await turn()
    }
  },
  {
    name: "ended empty before the read (end event not yet emitted)",
    during: false,
    bytes: Buffer.alloc(0),
    outcome: "complete",
    run: (readable) => void readable.end()
  },
  {
    name: "ended empty during a wait",
    during: true,
    bytes: Buffer.alloc(0),
    outcome: "complete",
    run: (readable) => void readable.end()
  }
]

describe("readBytes: how the readable ends", () => {
  it.live.each(endings)(
    "$name: $outcome, the bytes before it, onAbandon once unless complete, released",
    (ending) =>
      Effect.gen(function*() {
        const readable = source()
        const before = timers()
        let outcome: Outcome
        if (ending.during) {
          const fiber = yield* waiting(readable, { firstMillis: 5_000, idleMillis: 5_000 })
          yield* Effect.promise(async () => ending.run(readable))
          // a read that never ends shows as a failed test, not a hung one
          outcome = yield* Effect.timeout(Fiber.join(fiber), "2 seconds")
        } else {
          yield* Effect.promise(async () => ending.run(readable))
          outcome = yield* read(readable, { firstMillis: 5_000, idleMillis: 5_000 })
        }
        const failure = failedWith(outcome.exit)
        if (ending.outcome === "failed") {
          expect(failure).toEqual({ _tag: "Failed", cause: boom })
        } else {
          expect(Exit.isSuccess(outcome.exit)).toBe(true)
        }
        expect(outcome.bytes.equals(ending.bytes)).toBe(true)
        yield* Effect.promise(turn)
        expect(outcome.abandoned()).toBe(ending.outcome === "complete" ? 0 : 1)
        released(readable, outcome, before)
      })
  )
})

describe("readBytes: bounded waits (live clock, real timers)", () => {
  it.live("no bytes within firstMillis: onTimeout(false), abandoned once, released, no timer left", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      const outcome = yield* read(readable, { firstMillis: 20, idleMillis: 5_000 })
      expect(failedWith(outcome.exit)).toEqual({ _tag: "TimedOut", started: false })
      expect(outcome.bytes.length).toBe(0)
      expect(outcome.abandoned()).toBe(1)
      released(readable, outcome, before)
    }))

  it.live.each([
    { name: "bytes written before the read", during: false },
    { name: "bytes written while it waits", during: true }
  ])(
    "$name, then silence past idleMillis: onTimeout(true), the bytes delivered, abandoned once",
    ({ during }) =>
      Effect.gen(function*() {
        const readable = source()
        const before = timers()
        if (!during) readable.write(head)
        const fiber = yield* Effect.fork(read(readable, { firstMillis: 5_000, idleMillis: 30 }))
        if (during) {
          yield* untilReading(readable)
          readable.write(head)
        }
        const outcome = yield* Fiber.join(fiber)
        expect(failedWith(outcome.exit)).toEqual({ _tag: "TimedOut", started: true })
        expect(outcome.bytes.equals(head)).toBe(true)
        yield* tick
        expect(outcome.abandoned()).toBe(1)
        released(readable, outcome, before)
      })
  )

  it.live("bytes that keep coming within idleMillis never time out, though the whole body takes longer", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      const fiber = yield* waiting(readable, { firstMillis: 100, idleMillis: 100 })
      const started = Date.now()
      const written = 25
      // 25 writes 10 ms apart: over 200 ms in all, never 100 ms of silence
      yield* trickle(readable, written, 10)
      readable.end()
      const outcome = yield* Fiber.join(fiber)
      expect(Date.now() - started).toBeGreaterThan(100)
      expect(failedWith(outcome.exit)).toBeUndefined()
      expect(outcome.bytes.equals(body.subarray(0, written))).toBe(true)
      expect(outcome.abandoned()).toBe(0)
      released(readable, outcome, before)
    }))

  it.live("a silence after bytes times out no sooner than idleMillis after them, though the timer was armed by an earlier wait", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      // the first wait arms the one timer for 100 ms; bytes end that wait at about 70 ms,
      // the next wait's deadline is 100 ms after them: the timer fires first and re-arms
      const fiber = yield* waiting(readable, { firstMillis: 100, idleMillis: 100 })
      yield* Effect.promise(() => sleep(70))
      readable.write(head)
      const wroteAt = performance.now()
      const outcome = yield* Fiber.join(fiber)
      const silence = performance.now() - wroteAt
      expect(failedWith(outcome.exit)).toEqual({ _tag: "TimedOut", started: true })
      expect(silence).toBeGreaterThanOrEqual(99)
      expect(silence).toBeLessThan(1_000)
      expect(outcome.bytes.equals(head)).toBe(true)
      released(readable, outcome, before)
    }))

  it.live("a long first wait, then a short idle one: the silence times out by idleMillis, not when the first wait's timer would fire", () =>
    Effect.gen(function*() {
      const readable = source()
      const fiber = yield* waiting(readable, { firstMillis: 30_000, idleMillis: 30 })
      readable.write(head)
      const wroteAt = performance.now()
      const outcome = yield* Effect.timeout(Fiber.join(fiber), "5 seconds")
      const silence = performance.now() - wroteAt
      expect(failedWith(outcome.exit)).toEqual({ _tag: "TimedOut", started: true })
      expect(silence).toBeGreaterThanOrEqual(29)
      expect(silence).toBeLessThan(1_000)
    }))

  it.live("a consumer slower than the bounds while bytes wait for it never times out (the timer fires while no wait runs), and a later silence is still bounded", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      const parts: Array<Uint8Array> = []
      const reading = readBytes<Failure>(readable, {
        onError: (cause) => ({ _tag: "Failed", cause }),
        onTimeout: (started) => ({ _tag: "TimedOut", started }),
        firstMillis: 20,
        idleMillis: 20,
        onAbandon: () => {}
      }).pipe(
        // each part takes the consumer 60 ms: three times the bounds
        Stream.runForEach((part) => Effect.promise(() => sleep(60).then(() => void parts.push(part)))),
        Effect.exit
      )
      const fiber = yield* Effect.fork(reading)
      yield* untilReading(readable)
      // three parts, each written while the consumer is busy with the one before
      readable.write(body.subarray(0, 4))
      for (const [from, to] of [[4, 8], [8, 12]] as const) {
        yield* Effect.promise(() => sleep(30))
        readable.write(body.subarray(from, to))
      }
      const exit = yield* Effect.timeout(Fiber.join(fiber), "5 seconds")
      // the silence after the last part, not the slow consumer, ended the read
      expect(failedWith(exit)).toEqual({ _tag: "TimedOut", started: true })
      expect(Buffer.concat(parts).equals(body.subarray(0, 12))).toBe(true)
      expect(timers()).toBeLessThanOrEqual(before)
    }))

  it.live("waits that end in time leave at most one timer of the read at any moment", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      const fiber = yield* waiting(readable, { firstMillis: 100, idleMillis: 100 })
      const counts: Array<number> = []
      yield* trickle(readable, 20, 5, Effect.zipRight(tick, Effect.sync(() => counts.push(timers() - before))))
      readable.end()
      const outcome = yield* Fiber.join(fiber)
      expect(Math.max(...counts)).toBeLessThanOrEqual(1)
      expect(failedWith(outcome.exit)).toBeUndefined()
      released(readable, outcome, before)
    }))

  it.live("without idleMillis, a silence after the first bytes is not bounded (firstMillis bounds the first wait only)", () =>
    Effect.gen(function*() {
      const readable = source()
      const fiber = yield* Effect.fork(read(readable, { firstMillis: 20 }))
      readable.write(head)
      yield* Effect.promise(() => sleep(60))
      readable.end(body.subarray(head.length))
      const outcome = yield* Fiber.join(fiber)
      expect(failedWith(outcome.exit)).toBeUndefined()
      expect(outcome.bytes.equals(body)).toBe(true)
      expect(outcome.abandoned()).toBe(0)
    }))

  it.live.each([
    { name: "before any bytes", write: false },
    { name: "after some bytes", write: true }
  ])(
    "interrupted while it waits $name: Fiber.interrupt returns, abandoned once, released, no timer left",
    ({ write }) =>
      Effect.gen(function*() {
        const readable = source()
        const before = timers()
        const { abandoned, parts, reading } = watched(readable, { firstMillis: 30_000, idleMillis: 30_000 })
        const direct = yield* Effect.fork(reading)
        yield* untilReading(readable)
        if (write) {
          readable.write(head)
          for (let i = 0; i < 100 && parts.length === 0; i++) yield* tick
        }
        const exit = yield* Fiber.interrupt(direct)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(Buffer.concat(parts).equals(write ? head : Buffer.alloc(0))).toBe(true)
        yield* tick
        expect(abandoned()).toBe(1)
        expect(listenersOf(readable)).toEqual({ readable: 0, end: 0, error: 0, close: 0, data: 0 })
        expect(readable.destroyed).toBe(true)
        expect(timers()).toBeLessThanOrEqual(before)
      })
  )

  it.live("a complete body under bounds: no abandon, even when the end comes while a bounded wait is armed", () =>
    Effect.gen(function*() {
      const readable = source()
      const before = timers()
      const fiber = yield* waiting(readable, { firstMillis: 100, idleMillis: 100 })
      readable.write(head)
      yield* tick
      readable.end()
      const outcome = yield* Fiber.join(fiber)
      expect(Exit.isSuccess(outcome.exit)).toBe(true)
      // past the bounds: nothing fires late
      yield* Effect.promise(() => sleep(150))
      expect(outcome.abandoned()).toBe(0)
      released(readable, outcome, before)
    }))
})

/**
 * A readable whose events land in the gap between a `read()` that found nothing and the
 * wait that follows it (the read's fiber can yield there): its first read emits
 * `readable` and finds nothing, its second gives the body, its third emits `end` and
 * finds nothing. No other event ever comes, so a lost event leaves the read waiting.
 */
class EventsInTheGap extends Readable {
  private reads = 0
  constructor(private readonly body: Buffer) {
    super({ read() {} })
  }
  override read(): Buffer | null {
    this.reads++
    if (this.reads === 1) {
      this.emit("readable")
      return null
    }
    if (this.reads === 2) return this.body
    if (this.reads === 3) this.emit("end")
    return null
  }
}

describe("readBytes: an event between a read that found nothing and its wait", () => {
  it.live("is not lost: the body arrives and the read ends (a lost event would wait out firstMillis)", () =>
    Effect.gen(function*() {
      const outcome = yield* read(new EventsInTheGap(head), { firstMillis: 500, idleMillis: 500 })
      expect(Exit.isSuccess(outcome.exit)).toBe(true)
      expect(outcome.bytes.equals(head)).toBe(true)
      expect(outcome.abandoned()).toBe(0)
    }))
})

/**
 * A decoder of lines (UTF-8 across reads): each read's complete lines; at the end the
 * last unterminated one. It counts its calls, and fails a push on a line `fail`, its
 * end when `failEnd` is set.
 */
const lineDecoder = (options: { readonly fail?: string; readonly failEnd?: boolean } = {}) => {
  const calls = { push: 0, end: 0 }
  const make = (): Decoder<string, Failure> => {
    const utf8 = new TextDecoder()
    let rest = ""
    const take = (text: string, out: Array<string>): Failure | undefined => {
      const lines = (rest + text).split("\n")
      rest = lines.pop()!
      for (const line of lines) {
        if (line === options.fail) return { _tag: "Failed", cause: `line ${line}` }
        out.push(line)
      }
      return undefined
    }
    return {
      push: (bytes, out) => {
        calls.push++
        return take(utf8.decode(bytes, { stream: true }), out)
      },
      end: (out) => {
        calls.end++
        const error = take(utf8.decode() + "\n", out)
        return error ?? (options.failEnd === true ? { _tag: "Failed", cause: "end" } : undefined)
      }
    }
  }
  return { make, calls }
}

/** A read of `readable` through `decoder`: the exit, the elements delivered, how often `onAbandon` ran. */
const readLines = (readable: Readable, decoder: Decoder<string, Failure>) =>
  Effect.suspend(() => {
    let abandoned = 0
    const lines: Array<string> = []
    const listeners = listenersOf(readable)
    return Effect.map(
      Effect.exit(
        readDecoded<string, Failure>(readable, {
          onError: (cause) => ({ _tag: "Failed", cause }),
          onAbandon: () => {
            abandoned++
          }
        }, decoder).pipe(Stream.runForEach((line) => Effect.sync(() => lines.push(line))))
      ),
      (exit) => ({ exit, lines, abandoned: () => abandoned, listeners })
    )
  })

const bodyLines = ["Grüße, 世界 🌍!", "{\"a\":1}", ""]

describe("readDecoded: the decoder runs inside the read", () => {
  it.effect(`${splits.length} splits, written before and while the read waits: the decoder sees every byte in order, its end once`, () =>
    Effect.gen(function*() {
      for (const { name, pieces } of splits) {
        for (const timing of ["before", "while waiting"] as const) {
          const readable = source()
          const decoder = lineDecoder()
          if (timing === "before") {
            for (const piece of pieces) readable.write(piece)
            readable.end()
          } else {
            void (async () => {
              for (const piece of pieces) {
                await turn()
                readable.write(piece)
              }
              readable.end()
            })()
          }
          const outcome = yield* readLines(readable, decoder.make())
          expect(Exit.isSuccess(outcome.exit), `${name}, ${timing}`).toBe(true)
          expect(outcome.lines, `${name}, ${timing}`).toEqual(bodyLines)
          expect(decoder.calls.end, `${name}, ${timing}`).toBe(1)
          yield* tick
          expect(outcome.abandoned(), `${name}, ${timing}`).toBe(0)
        }
      }
    }))

  it.effect("the same elements as the decoder after the byte stream (`through`), for every split", () =>
    Effect.gen(function*() {
      for (const { name, pieces } of splits) {
        const inside = source()
        for (const piece of pieces) inside.write(piece)
        inside.end()
        const after = source()
        for (const piece of pieces) after.write(piece)
        after.end()
        const fused = yield* readLines(inside, lineDecoder().make())
        const piped = yield* Stream.runCollect(
          readBytes<Failure>(after, { onError: (cause) => ({ _tag: "Failed", cause }), onAbandon: () => {} }).pipe(
            through(lineDecoder().make)
          )
        )
        expect(fused.lines, name).toEqual([...piped])
      }
    }))

  it.live("a push that fails: the elements decoded before it are delivered, then its error; the request is abandoned, the readable released", () =>
    Effect.gen(function*() {
      const readable = source()
      readable.write("one\ntwo\nbad\nthree\n")
      // the body is not over: more would come
      const decoder = lineDecoder({ fail: "bad" })
      const outcome = yield* readLines(readable, decoder.make())
      expect(failedWith(outcome.exit)).toEqual({ _tag: "Failed", cause: "line bad" })
      expect(outcome.lines).toEqual(["one", "two"])
      expect(decoder.calls.end).toBe(0)
      yield* tick
      expect(outcome.abandoned()).toBe(1)
      expect(listenersOf(readable)).toEqual(outcome.listeners)
      expect(readable.destroyed).toBe(true)
    }))

  it.live("a push that fails on a later read of the same wake: no element of the reads after it", () =>
    Effect.gen(function*() {
      // three reads waiting at once, as `Readable.from` holds them: the failing one is the second
      const readable = Readable.from([Buffer.from("a\n"), Buffer.from("bad\nb\n"), Buffer.from("c\n")], {
        objectMode: false
      })
      const decoder = lineDecoder({ fail: "bad" })
      const outcome = yield* readLines(readable, decoder.make())
      expect(failedWith(outcome.exit)).toEqual({ _tag: "Failed", cause: "line bad" })
      expect(outcome.lines).toEqual(["a"])
      expect(decoder.calls.end).toBe(0)
    }))

  it.live("an end that fails: its last elements are delivered, then its error; the body was complete, so nothing is abandoned", () =>
    Effect.gen(function*() {
      const readable = source()
      readable.end("one\nlast")
      const decoder = lineDecoder({ failEnd: true })
      const outcome = yield* readLines(readable, decoder.make())
      expect(failedWith(outcome.exit)).toEqual({ _tag: "Failed", cause: "end" })
      expect(outcome.lines).toEqual(["one", "last"])
      expect(decoder.calls.end).toBe(1)
      yield* tick
      expect(outcome.abandoned()).toBe(0)
    }))

  /** A line and a half written, the read waiting for more, then the readable destroyed (with `error`, if given). */
  const destroyedWhileReading = (error?: Error) =>
    Effect.gen(function*() {
      const readable = source()
      readable.write("one\npart")
      const decoder = lineDecoder()
      const reading = yield* Effect.fork(readLines(readable, decoder.make()))
      yield* untilReading(readable)
      readable.destroy(error)
      return { outcome: yield* Fiber.join(reading), decoder }
    })

  it.live("a body that fails: the body's error, and the decoder's end never runs (its verdict is for a body that ended)", () =>
    Effect.gen(function*() {
      const { decoder, outcome } = yield* destroyedWhileReading(new Error("reset"))
      const failure = failedWith(outcome.exit)
      expect(failure?._tag).toBe("Failed")
      expect(failure?._tag === "Failed" ? String(failure.cause) : "").toContain("reset")
      expect(outcome.lines).toEqual(["one"])
      expect(decoder.calls.end).toBe(0)
    }))

  it.live("a body destroyed without an error (aborted) mid-line: the decoder's end decides (here: the partial line), once", () =>
    Effect.gen(function*() {
      const { decoder, outcome } = yield* destroyedWhileReading()
      expect(Exit.isSuccess(outcome.exit)).toBe(true)
      expect(outcome.lines).toEqual(["one", "part"])
      expect(decoder.calls.end).toBe(1)
      yield* tick
      expect(outcome.abandoned()).toBe(1)
    }))
})
