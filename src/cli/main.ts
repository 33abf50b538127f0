#!/usr/bin/env node
/**
 * The `effect-adc` command. `--version` answers before anything is loaded, and so does
 * `--help` in the published bundle (pre-rendered when it is built); the command tree
 * comes next, and each subcommand loads its own implementation.
 *
 * @since 0.1.0
 */
import { prerendered } from "./internal/help.js"
import { colourFor } from "./internal/terminal.js"
import { version } from "./internal/version.js"

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${version}\n`)
} else if (args.length === 1 && (args[0] === "--help" || args[0] === "-h") && prerendered !== undefined) {
  process.stdout.write(colourFor(process.stdout) ? prerendered.colour : prerendered.plain)
} else {
  const [{ run }, { withColourPolicy }, NodeContext, NodeRuntime, Effect] = await Promise.all([
    import("./Cli.js"),
    import("./internal/colour.js"),
    import("@effect/platform-node/NodeContext"),
    import("@effect/platform-node/NodeRuntime"),
    import("effect/Effect")
  ])
  run(process.argv).pipe(
    withColourPolicy,
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
}
