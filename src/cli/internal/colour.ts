/**
 * Colour only for a person at a terminal: `NO_COLOR` (any non-empty value, see
 * no-color.org) or an output that is not a TTY (a pipe, a file, a test) turns the
 * ANSI styling of @effect/cli's help and messages off, `FORCE_COLOR` turns it on
 * (`terminal.ts`). @effect/cli has no switch for it, so the Console the program runs
 * with strips the escapes.
 *
 * @internal
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { colourFor } from "./terminal.js"

// eslint-disable-next-line no-control-regex -- ESC is what it matches
const ANSI = /\u001b\[[0-9;]*m/g

const strip = (args: ReadonlyArray<unknown>) => args.map((a) => typeof a === "string" ? a.replace(ANSI, "") : a)

/** Should output to `stream` carry colour? @internal */
export { colourFor }

/** Runs `self` with a Console that strips colour from stdout / stderr lines that must not have it. @internal */
export const withColourPolicy = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const out = colourFor(process.stdout)
  const err = colourFor(process.stderr)
  if (out && err) return self
  return Console.consoleWith((base) =>
    Effect.withConsole(self, {
      ...base,
      log: (...args) => base.log(...(out ? args : strip(args))),
      info: (...args) => base.info(...(out ? args : strip(args))),
      error: (...args) => base.error(...(err ? args : strip(args))),
      warn: (...args) => base.warn(...(err ? args : strip(args)))
    })
  )
}
