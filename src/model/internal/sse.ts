/**
 * Server-sent events → the `data` of each event, in one pass over the text.
 *
 * `@effect/experimental`'s `Sse` parser (0.61) rescans its buffer from the start for every
 * line, so a network read holding many events costs the square of their number (800
 * events in one read: ~600 ms). This decoder splits lines once (`\n`, `\r\n` and a
 * lone `\r`, as the SSE spec allows, also across reads: `Stream.splitLines` does not
 * end a line at a lone `\r`) and folds them into events.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** Text read so far of an unfinished line, and whether the last read ended with `\r`. */
interface Lines {
  readonly rest: string
  readonly afterCr: boolean
}

const splitLines = (lines: Lines, read: string): readonly [Lines, ReadonlyArray<string>] => {
  if (read === "") return [lines, []]
  // a `\r\n` split between two reads: the `\r` already ended the line
  const input = lines.afterCr && read.startsWith("\n") ? read.slice(1) : read
  const parts = (lines.rest + input).split(/\r\n|\r|\n/)
  const rest = parts.pop()!
  return [{ rest, afterCr: read.endsWith("\r") }, parts]
}

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
    // a final "\n" ends an unfinished last line (and is swallowed after a final "\r")
    Stream.concat(Stream.make("\n")),
    Stream.mapAccum({ rest: "", afterCr: false } as Lines, splitLines),
    Stream.flattenIterables,
    // a final blank line dispatches an event the server did not close
    Stream.concat(Stream.make("")),
    Stream.mapAccum(undefined as Pending, step),
    Stream.filterMap((event) => event)
  )
