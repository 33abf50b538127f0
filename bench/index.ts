/**
 * `npm run bench`: ours against named peers, side by side in one run, on the loopback
 * emulator. Absolute times on a shared machine are noise; read the ratios and counts.
 * `--quick` runs every scenario small (what test/bench does).
 */
import { coldStampede, expiryStall, type Row, scaleModel, warmHeaders } from "./authScenarios.js"

const quick = process.argv.includes("--quick")

const print = (rows: ReadonlyArray<Row>) => {
  for (const row of rows) {
    console.log(
      `${row.scenario.padEnd(14)} ${row.measure.padEnd(56)} ours ${row.ours.padEnd(22)} ` +
        `${row.peerName}: ${row.peer.padEnd(22)} ${row.ratio}`
    )
  }
}

/** Every scenario, in order; each returns its rows. */
export const scenarios: ReadonlyArray<readonly [string, () => Promise<ReadonlyArray<Row>>]> = [
  ["1. cold stampede", () => coldStampede(quick ? [1, 10] : [1, 100, 1000])],
  ["2. warm header cost", () => warmHeaders(quick ? 1_000 : 100_000)],
  [
    "3. expiry stall",
    () =>
      expiryStall(
        quick
          ? { lifetimeSeconds: 4, latencyMs: 100, intervalMs: 10, durationMs: 2_000 }
          : { lifetimeSeconds: 8, latencyMs: 300, intervalMs: 10, durationMs: 30_000 }
      )
  ],
  ["8. scale model", () => scaleModel(quick ? [1, 10] : [1, 100, 1000], quick ? 2 : 3)]
]

const main = async () => {
  console.log(`effect-adc bench (${quick ? "quick" : "full"}), Node ${process.version}, ${new Date().toISOString()}`)
  console.log("peer: gal = google-auth-library 11 (same emulator, same run)")
  for (const [name, run] of scenarios) {
    console.log(`\n${name}`)
    print(await run())
  }
  console.log("\nnot yet measured (need ModelService / the proxy): 4. request overhead, 5. streaming, 6. start-up, 7. proxy")
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
