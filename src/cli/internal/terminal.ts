/**
 * Whether an output stream gets colour, in a module that imports nothing (the CLI's
 * pre-rendered `--help` asks it before anything else is loaded).
 *
 * `FORCE_COLOR` (set, and not `0` or `false`: Node's and chalk's convention) turns
 * colour on whatever the stream; else `NO_COLOR` (any non-empty value, see
 * no-color.org) or an output that is not a TTY (a pipe, a file, a test) turns it off.
 *
 * @internal
 */
export const colourFor = (stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean => {
  const force = env["FORCE_COLOR"]
  if (force !== undefined && force !== "" && force !== "0" && force !== "false") return true
  return (env["NO_COLOR"] ?? "") === "" && stream.isTTY === true
}
