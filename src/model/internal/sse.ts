/**
 * Server-sent events → the `data` of each event, in one pass over the text.
 *
 * `@effect/experimental`'s `Sse` parser (0.61) rescans its buffer from the start for every
 * line, so a network read holding many events costs the square of their number (800
 * events in one read: ~600 ms). This decoder splits lines once (`Stream.splitLines`
 * handles `\n`, `\r\n` and `\r` across chunk boundaries) and folds them into events.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** Pending `data` lines of the event being read; `undefined` when there are none. */
type Pending = Array<string> | undefined

const step = (pending: Pending, line: string): readonly [Pending, Option.Option<string>] => {
  if (line === "") {
    // A blank line dispatches the event (an event without data is ignored).
    return pending === undefined ? [undefined, Option.none()] : [undefined, Option.some(pending.join("\n"))]
  }
  if (line.startsWith("data")) {
    const rest = line.slice(4)
    if (rest === "" || rest.startsWith(":")) {
      const value = rest.startsWith(": ") ? rest.slice(2) : rest.slice(1)
      if (pending === undefined) return [[value], Option.none()]
      pending.push(value)
      return [pending, Option.none()]
    }
  }
  // Comments (`:`), `event:`, `id:`, `retry:` and unknown fields carry no data.
  return [pending, Option.none()]
}

/**
 * The `data` of each event of a text stream. A last event not followed by a blank line
 * is still delivered (servers that end the body right after their final `data:` line).
 *
 * @internal
 */
export const data = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
  text.pipe(
    Stream.splitLines,
    Stream.concat(Stream.make("")),
    Stream.mapAccum(undefined as Pending, step),
    Stream.filterMap((event) => event)
  )
