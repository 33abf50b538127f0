#!/usr/bin/env node
/**
 * The `effect-adc` command. `--version` answers before anything is loaded; the
 * command tree comes next, and each subcommand loads its own implementation.
 *
 * @since 0.1.0
 */
import { version } from "./internal/version.js"

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${version}\n`)
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
