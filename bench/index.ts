/**
 * `npm run bench`: ours against named peers, side by side in one run, on the loopback
 * emulator. Absolute times on a shared machine are noise; read the ratios and counts.
 * `--quick` runs every scenario small (what test/bench does); `--only 4,5` (or `p4 p5`)
 * runs the scenarios with those numbers; `--json PATH` also writes the run's figures to PATH as
 * one flat JSON object of numbers (`load_start`, the scenarios' keys such as
 * `p7.proxy_rps`, `load_end`; load = the 1-minute load average).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import { coldStampede, expiryStall, type Row, scaleModel, warmHeaders } from "./authScenarios.js"
import { limits } from "./limitsScenario.js"
import { requestOverhead, streaming } from "./modelScenarios.js"
import { proxy } from "./proxyScenario.js"
import { startup } from "./startup.js"

const argv = process.argv.slice(2)
const quick = argv.includes("--quick")
const onlyIndex = argv.indexOf("--only")
// `--only 4,5`, or the scenarios named bare: `npm run bench -- p4 p5`
const named = argv.filter((arg) => /^p?\d+$/.test(arg) && argv[argv.indexOf(arg) - 1] !== "--only")
const only = onlyIndex >= 0 || named.length > 0
  ? new Set(
    [
      ...(onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? "").split(",") : []),
      ...named.map((arg) => arg.replace(/^p/, ""))
    ].map((s) => s.trim()).filter((s) => s !== "")
  )
  : undefined
const jsonIndex = argv.indexOf("--json")
const jsonPath = jsonIndex >= 0 ? argv[jsonIndex + 1] : undefined
if (jsonIndex >= 0 && (jsonPath === undefined || jsonPath.startsWith("--"))) {
  console.error("--json needs a file path: npm run bench -- --json /tmp/bench.json")
  process.exit(2)
}

const load = () => Number(Os.loadavg()[0]!.toFixed(2))

const print = (rows: ReadonlyArray<Row>) => {
  for (const row of rows) {
    console.log(
      `${row.scenario.padEnd(16)} ${row.measure.padEnd(64)} ours ${row.ours.padEnd(26)} ` +
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
  [
    "4. request overhead",
    () => requestOverhead(quick ? { n: 20, concurrency: 4, rounds: 1 } : { n: 200, concurrency: 16, rounds: 15 })
  ],
  ["5. streaming", () => streaming(quick ? { chunks: 200, rounds: 1 } : { chunks: 5_000, rounds: 18 })],
  ["6. start-up", () => startup(quick ? { runs: 1, entries: 2 } : { runs: 5, importRuns: 3 })],
  [
    "7. proxy",
    () =>
      proxy(
        quick
          ? { n: 20, concurrency: 4, ttfbRuns: 2, gapMs: 200 }
          : { n: 1_000, concurrency: 32, ttfbRuns: 20, gapMs: 300 }
      )
  ],
  ["8. scale model", () => scaleModel(quick ? [1, 10] : [1, 100, 1000], quick ? 2 : 3)],
  [
    "9. shared limits",
    () => limits(quick ? { calls: 20, replicas: 4, perReplica: 2 } : { calls: 200, replicas: 4, perReplica: 4 })
  ]
]

const main = async () => {
  const figures: Record<string, number> = { load_start: load() }
  console.log(
    `effect-adc bench (${quick ? "quick" : "full"}), Node ${process.version}, ${new Date().toISOString()}, ` +
      `load ${figures["load_start"]}`
  )
  console.log("peer: gal = google-auth-library 11 (same emulator, same run)")
  const started = performance.now()
  for (const [name, run] of scenarios) {
    if (only !== undefined && !only.has(name.split(".")[0]!)) continue
    const t = performance.now()
    console.log(`\n${name}`)
    const rows = await run()
    print(rows)
    for (const row of rows) Object.assign(figures, row.figures)
    console.log(`(${((performance.now() - t) / 1000).toFixed(1)} s)`)
  }
  figures["load_end"] = load()
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s, load ${figures["load_end"]}`)
  if (jsonPath !== undefined) {
    Fs.writeFileSync(jsonPath, JSON.stringify(figures, null, 2) + "\n")
    console.log(`figures written to ${jsonPath}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
