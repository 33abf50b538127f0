/**
 * Server-sent events → the `data` of each event, over the one SSE framer of
 * `stream.ts` (lines split once, `\n`, `\r\n` and a lone `\r`, also across reads).
 *
 * @internal
 */
import * as Stream from "effect/Stream"
import * as Decoder from "./stream.js"

/**
 * The `data` of each event of a text stream. A last event not followed by a blank line
 * is still delivered.
 *
 * @internal
 */
export const data = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const framer = Decoder.sse()
    const collect = (run: (out: Array<Decoder.Frame>) => void) => {
      const out: Array<Decoder.Frame> = []
      run(out)
      return out.filter((frame): frame is string => typeof frame === "string")
    }
    return text.pipe(
      Stream.mapConcat((read) => collect((out) => framer.push(read, out))),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(collect((out) => framer.end(out)))))
    )
  })
