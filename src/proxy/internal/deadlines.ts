/**
 * The proxy's timers, on Effect's `Clock`: under the live clock they cost one Node
 * timer for the whole proxy, and under `TestClock` a test moves them with
 * `TestClock.adjust` (no real sleeps).
 *
 * Every deadline of one duration lives in one FIFO list: a deadline armed later expires
 * later, so the head of each list is its earliest. Arming, re-arming (on every body
 * chunk) and cancelling are O(1) list operations on the request path; one fiber,
 * forked in the proxy's scope, sleeps until the earliest head and fires what expired.
 *
 * The fiber never sleeps longer than the shortest duration: a deadline armed while it
 * sleeps ends at least that long after it fell asleep, so no arming ever has to wake
 * it (waking it would cost a fiber race per request). It wakes at most once per
 * shortest duration, or per expiry.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** One countdown; stopped until `start`. @internal */
export interface Deadline {
  /** Starts the countdown from now (restarts it if running). */
  readonly start: () => void
  /** Stops it; it will not fire. */
  readonly cancel: () => void
}

/** @internal */
export interface Deadlines {
  /** A stopped deadline that calls `onExpire` once `millis` pass after a `start`. */
  readonly make: (millis: number, onExpire: () => void) => Deadline
}

class Lane {
  head: Node | undefined = undefined
  tail: Node | undefined = undefined
  constructor(readonly millis: number) {}
}

class Node implements Deadline {
  at = 0
  prev: Node | undefined = undefined
  next: Node | undefined = undefined
  linked = false
  constructor(
    private readonly owner: Scheduler,
    readonly lane: Lane,
    readonly onExpire: () => void
  ) {}
  start(): void {
    this.owner.arm(this)
  }
  cancel(): void {
    unlink(this)
  }
}

const unlink = (node: Node): void => {
  if (!node.linked) return
  const lane = node.lane
  if (node.prev === undefined) lane.head = node.next
  else node.prev.next = node.next
  if (node.next === undefined) lane.tail = node.prev
  else node.next.prev = node.prev
  node.prev = node.next = undefined
  node.linked = false
}

class Scheduler {
  readonly lanes = new Map<number, Lane>()
  /** When the fiber will look again (Infinity: it waits for a deadline). */
  wakeAt = Number.POSITIVE_INFINITY
  wake: (() => void) | undefined = undefined
  /** A deadline earlier than `wakeAt` was armed while the fiber was not waiting. */
  poked = false
  /** The shortest duration of any lane. */
  shortest = Number.POSITIVE_INFINITY
  constructor(readonly now: () => number) {}

  arm(node: Node): void {
    unlink(node)
    const lane = node.lane
    node.at = this.now() + lane.millis
    node.prev = lane.tail
    if (lane.tail === undefined) lane.head = node
    else lane.tail.next = node
    lane.tail = node
    node.linked = true
    if (node.at < this.wakeAt) {
      this.wakeAt = node.at
      const wake = this.wake
      this.wake = undefined
      if (wake === undefined) this.poked = true
      else wake()
    }
  }

  /** Fires what expired; the time of the next deadline. */
  expire(): number {
    const now = this.now()
    for (const lane of this.lanes.values()) {
      while (lane.head !== undefined && lane.head.at <= now) {
        const node = lane.head
        unlink(node)
        node.onExpire()
      }
    }
    // After every callback ran (one may arm another deadline).
    let next = Number.POSITIVE_INFINITY
    for (const lane of this.lanes.values()) {
      if (lane.head !== undefined && lane.head.at < next) next = lane.head.at
    }
    return next
  }
}

/**
 * The deadlines of one proxy: its fiber lives in the current scope.
 *
 * @internal
 */
export const make: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.gen(function*() {
  const clock = yield* Effect.clock
  const scheduler = new Scheduler(() => clock.unsafeCurrentTimeMillis())
  const signal = Effect.async<void>((resume) => {
    if (scheduler.poked) {
      scheduler.poked = false
      return resume(Effect.void)
    }
    scheduler.wake = () => resume(Effect.void)
    return Effect.sync(() => {
      scheduler.wake = undefined
    })
  })
  const step = Effect.suspend(() => {
    scheduler.poked = false
    const now = scheduler.now()
    const next = Math.min(scheduler.expire(), now + scheduler.shortest)
    scheduler.wakeAt = next
    if (next === Number.POSITIVE_INFINITY) return signal
    return Effect.raceFirst(clock.sleep(Duration.millis(Math.max(0, next - now))), signal)
  })
  yield* Effect.forkScoped(Effect.forever(step))
  return {
    make: (millis, onExpire) => {
      let lane = scheduler.lanes.get(millis)
      if (lane === undefined) {
        lane = new Lane(millis)
        scheduler.lanes.set(millis, lane)
        scheduler.shortest = Math.min(scheduler.shortest, millis)
      }
      return new Node(scheduler, lane, onExpire)
    }
  }
})
