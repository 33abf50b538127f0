/**
 * 6. Start-up, measured in fresh child processes (plain `node`, no tsx): our sources are
 * transpiled once to JavaScript (TypeScript's `transpileModule`, one file at a time, the
 * same ES module layout `npm run build` emits) under `.tmp/bench-dist-<pid>`, so an import of
 * ours costs what an import of the published package costs, not what tsx costs.
 *
 * - import time of each entry point in `package.json` `exports` vs google-auth-library
 *   and @google/genai, with `effect/Effect` for scale (`performance.now()` around one
 *   dynamic `import()`);
 * - process start → first token: a tiny script on our AuthService vs one on
 *   google-auth-library (first access token), and ModelService.stream vs @google/genai +
 *   google-auth-library (first streamed model chunk), against the emulator's metadata
 *   server and a loopback Gemini emulator. The child reports `performance.now()` (ms
 *   since its process started) and its CPU time when it has the token. Our first access
 *   token three ways: unbundled (the transpiled tree, as from node_modules), with a
 *   library bundle (effect, @effect/platform and effect-adc in one vendor module the
 *   unbundled app imports) and as an app bundle (`esbuild --bundle --splitting`, the
 *   command docs/deploying.md gives). The variants run round-robin, so load on a shared
 *   machine spreads over all of them; read the ratios.
 * - the CLI bundle (`scripts/build-cli.mjs`): `effect-adc --version` and `--help`, wall
 *   time from spawn to exit in the parent, and `--help` unbundled for scale.
 */
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"
import * as GeminiEmulator from "../src/testing/models/GeminiEmulator.js"
import { type Row, withEmulator } from "./authScenarios.js"
import { serve } from "./modelServers.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
// per process, so a bench run and the smoke test can run side by side (`.tmp/` is git-ignored)
const out = Path.join(root, ".tmp", `bench-dist-${process.pid}`)

const walk = async (dir: string): Promise<Array<string>> => {
  const entries = await Fs.readdir(dir, { withFileTypes: true })
  const files = await Promise.all(entries.map((e) => {
    const full = Path.join(dir, e.name)
    return e.isDirectory() ? walk(full) : Promise.resolve(e.name.endsWith(".ts") ? [full] : [])
  }))
  return files.flat()
}

/** Transpiles `src/**` to `.tmp/bench-dist/**` (ES2022 modules, as tsconfig.build.json emits them). */
export const buildSources = async (): Promise<string> => {
  await Fs.rm(out, { recursive: true, force: true })
  for (const file of await walk(Path.join(root, "src"))) {
    const { outputText } = ts.transpileModule(await Fs.readFile(file, "utf8"), {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        esModuleInterop: true
      },
      fileName: file
    })
    const target = Path.join(out, Path.relative(Path.join(root, "src"), file)).replace(/\.ts$/, ".js")
    await Fs.mkdir(Path.dirname(target), { recursive: true })
    await Fs.writeFile(target, outputText)
  }
  return out
}

/** Our entry points: `exports` of package.json, mapped from `dist/` to the transpiled tree. */
const entryPoints = async (): Promise<Array<readonly [string, string]>> => {
  const pkg = JSON.parse(await Fs.readFile(Path.join(root, "package.json"), "utf8")) as {
    exports: Record<string, string | { default?: string }>
  }
  const entries: Array<readonly [string, string]> = []
  for (const [key, value] of Object.entries(pkg.exports)) {
    const file = typeof value === "string" ? value : value.default
    if (file === undefined || !file.startsWith("./dist/")) continue
    entries.push([
      key === "." ? "effect-adc" : `effect-adc${key.slice(1)}`,
      pathToFileURL(Path.join(out, file.slice("./dist/".length))).href
    ])
  }
  return entries
}

/** Runs `node` with `args`; resolves with the JSON the child prints last. */
const runNode = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<Record<string, number>> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString("utf8")))
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString("utf8")))
    child.once("error", reject)
    child.once("exit", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? ""
      try {
        if (code !== 0) throw new Error(`exit ${code}`)
        resolve(JSON.parse(line) as Record<string, number>)
      } catch (error) {
        reject(new Error(`child ${args.join(" ").slice(0, 80)} failed (${String(error)}): ${stderr.slice(0, 400)}`))
      }
    })
  })

/** Runs `node` with `args` to its exit (status 0 and `expect` in its output); wall ms from spawn to exit. */
const runWall = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, expect: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString("utf8")))
    child.once("error", reject)
    child.once("exit", (code) => {
      const ms = performance.now() - started
      if (code === 0 && stdout.includes(expect)) resolve(ms)
      else {reject(
          new Error(`${args.join(" ").slice(-80)}: exit ${code}, printed ${JSON.stringify(stdout.slice(0, 80))}`)
        )}
    })
  })

const importScript = `const t = performance.now()
await import(process.env.BENCH_SPEC)
process.stdout.write(JSON.stringify({ ms: performance.now() - t }) + "\\n")
process.exit(0)`

/** How every first-token script ends: ms since its process started and its CPU time, then exit. */
const done = `const cpu = process.cpuUsage()
process.stdout.write(JSON.stringify({ ms: performance.now(), cpu: (cpu.user + cpu.system) / 1000 }) + "\\n")
process.exit(0)`

const oursToken = (imports: string) =>
  `${imports}
const token = await Effect.runPromise(
  Effect.scoped(Effect.flatMap(AuthService.AuthService, (auth) => auth.accessToken())).pipe(
    Effect.provide(AuthService.layer())
  )
)
if (token === undefined) throw new Error("no token")
${done}`

/**
 * The first-token scripts, written next to the transpiled sources (so bare imports
 * resolve from the repo). `vendor.mjs` is the library bundle's entry, not a script.
 */
const scripts = {
  "ours-token.mjs": oursToken(`import * as Effect from "effect/Effect"
import { AuthService } from "../auth/index.js"`),
  // the library bundle's app: its own code unbundled, the rest from one vendor module
  "ours-token-lib.mjs": oursToken(`import { AuthService, Effect } from "./vendor/vendor.mjs"`),
  "vendor.mjs": `export * as Effect from "effect/Effect"
export { AuthService } from "../auth/index.js"`,
  "gal-token.mjs": `import { GoogleAuth } from "google-auth-library"
const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] })
const token = await auth.getAccessToken()
if (!token) throw new Error("no token")
${done}`,
  "ours-model.mjs": `import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { AuthService } from "../auth/index.js"
import { GeminiVertex, ModelRequest, ModelService } from "../model/index.js"
const url = process.env.BENCH_GEMINI_URL
const layer = GeminiVertex.layer({ project: "emulator-project", location: "us-central1", baseUrl: url, origins: [url] }).pipe(
  Layer.provide(Layer.mergeAll(AuthService.layer(), FetchHttpClient.layer))
)
const first = await Effect.runPromise(
  Effect.flatMap(ModelService.ModelService, (model) =>
    Stream.runHead(model.stream({ model: "gemini-2.5-flash", contents: [ModelRequest.user("one two three four")] }))
  ).pipe(Effect.provide(layer))
)
if (Option.isNone(first) || first.value.textDelta === "") throw new Error("no chunk")
${done}`,
  "genai-model.mjs": `import { GoogleGenAI } from "@google/genai"
const ai = new GoogleGenAI({
  vertexai: true,
  project: "emulator-project",
  location: "us-central1",
  httpOptions: { baseUrl: process.env.BENCH_GEMINI_URL }
})
for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "one two three four" })) {
  if (!chunk.text) throw new Error("no chunk")
  break
}
${done}`
} as const

/**
 * The esbuild options docs/deploying.md gives for an app on Cloud Run: one ES module
 * per lazily loaded part, minified, with `require` for the CommonJS inside;
 * google-auth-library external (bundled, its lazy imports break), imported only by the
 * chunk a credential file loads.
 */
export const appBundleOptions = (entry: string, outdir: string): esbuild.BuildOptions => ({
  entryPoints: [entry],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  outExtension: { ".js": ".mjs" },
  external: ["google-auth-library"],
  banner: { js: `import { createRequire } from "node:module";const require = createRequire(import.meta.url);` },
  logLevel: "error"
})

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const ms = (x: number) => `${x.toFixed(1)} ms`
const round = (x: number) => Math.round(x * 10) / 10

/** 6. Start-up: median over `runs` fresh processes of each measure. */
export const startup = (options: {
  readonly runs: number
  /** runs per import measure; default `runs` */
  readonly importRuns?: number
  readonly entries?: number
}): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    await buildSources()
    const dir = Path.join(out, "startup")
    await Fs.mkdir(dir, { recursive: true })
    for (const [name, text] of Object.entries(scripts)) await Fs.writeFile(Path.join(dir, name), text)
    await esbuild.build(appBundleOptions(Path.join(dir, "ours-token.mjs"), Path.join(dir, "app")))
    await esbuild.build(appBundleOptions(Path.join(dir, "vendor.mjs"), Path.join(dir, "vendor")))
    const cliBundle = Path.join(out, "cli-bundle")
    await runWall([Path.join(root, "scripts", "build-cli.mjs"), cliBundle], process.env, "CLI bundle")
    const gemini = await serve(GeminiEmulator.make().handler)
    const env = {
      ...process.env,
      ...emulator.env,
      GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS: "true",
      BENCH_GEMINI_URL: gemini.url
    }
    const rows: Array<Row> = []
    const importRuns = options.importRuns ?? options.runs
    try {
      const importMs = async (spec: string) => {
        const xs: Array<number> = []
        for (let i = 0; i < importRuns; i++) {
          xs.push((await runNode(["--input-type=module", "-e", importScript], { ...env, BENCH_SPEC: spec })).ms!)
        }
        return median(xs)
      }
      /** Each script `runs` times, round-robin (after one warm-up run each when runs > 1): medians of ms and cpu. */
      const scriptsMs = async <K extends string>(paths: Readonly<Record<K, string>>) => {
        const keys = Object.keys(paths) as Array<K>
        const samples = new Map(keys.map((k) => [k, { ms: [] as Array<number>, cpu: [] as Array<number> }]))
        for (let i = options.runs > 1 ? -1 : 0; i < options.runs; i++) {
          for (const k of keys) {
            const { cpu, ms } = await runNode([paths[k]], env)
            if (i >= 0) {
              samples.get(k)!.ms.push(ms!)
              samples.get(k)!.cpu.push(cpu!)
            }
          }
        }
        return Object.fromEntries(
          keys.map((k) => [k, { ms: median(samples.get(k)!.ms), cpu: median(samples.get(k)!.cpu) }])
        ) as Record<K, { readonly ms: number; readonly cpu: number }>
      }
      const wallMs = async (args: ReadonlyArray<string>, expect: string) => {
        const xs: Array<number> = []
        for (let i = options.runs > 1 ? -1 : 0; i < options.runs; i++) {
          const x = await runWall(args, env, expect)
          if (i >= 0) xs.push(x)
        }
        return median(xs)
      }

      const token = await scriptsMs({
        unbundled: Path.join(dir, "ours-token.mjs"),
        library: Path.join(dir, "ours-token-lib.mjs"),
        app: Path.join(dir, "app", "ours-token.mjs"),
        gal: Path.join(dir, "gal-token.mjs")
      })
      const tokenRow = (name: string, ours: { readonly ms: number; readonly cpu: number }) => ({
        scenario: "start-up",
        measure: `process start → first access token, ${name} (median of ${options.runs})`,
        ours: `${ms(ours.ms)} (cpu ${ms(ours.cpu)})`,
        peer: `${ms(token.gal.ms)} (cpu ${ms(token.gal.cpu)})`,
        peerName: "google-auth-library getAccessToken",
        ratio: `${(ours.ms / token.gal.ms).toFixed(2)}x (cpu ${(ours.cpu / token.gal.cpu).toFixed(2)}x)`
      })
      rows.push(
        {
          ...tokenRow("unbundled", token.unbundled),
          figures: {
            "p6.first_token_ms": round(token.unbundled.ms),
            "p6.gal_first_token_ms": round(token.gal.ms),
            "p6.first_token_cpu_ms": round(token.unbundled.cpu),
            "p6.gal_first_token_cpu_ms": round(token.gal.cpu)
          }
        },
        {
          ...tokenRow("library bundle", token.library),
          figures: { "p6.library_bundle_first_token_ms": round(token.library.ms) }
        },
        {
          ...tokenRow("app bundle", token.app),
          figures: {
            "p6.bundled_first_token_ms": round(token.app.ms),
            "p6.bundled_first_token_cpu_ms": round(token.app.cpu)
          }
        }
      )

      const model = await scriptsMs({
        ours: Path.join(dir, "ours-model.mjs"),
        genai: Path.join(dir, "genai-model.mjs")
      })
      rows.push({
        scenario: "start-up",
        measure: `process start → first streamed model chunk (median of ${options.runs})`,
        ours: ms(model.ours.ms),
        peer: ms(model.genai.ms),
        peerName: "@google/genai generateContentStream + gal",
        ratio: `${(model.ours.ms / model.genai.ms).toFixed(2)}x (ours/peer time)`
      })

      const cli = Path.join(cliBundle, "effect-adc.mjs")
      const version = await wallMs([cli, "--version"], ".")
      const help = await wallMs([cli, "--help"], "USAGE")
      const helpUnbundled = await wallMs([Path.join(out, "cli", "main.js"), "--help"], "USAGE")
      const nodeFloor = await wallMs(["-e", "console.log('.')"], ".")
      rows.push(
        {
          scenario: "start-up",
          measure: `effect-adc --version, CLI bundle, spawn → exit (median of ${options.runs})`,
          ours: ms(version),
          peer: ms(nodeFloor),
          peerName: "node -e (an empty process)",
          ratio: `goal ≤ 300 ms`,
          figures: { "p6.cli_version_ms": round(version), "p6.node_floor_ms": round(nodeFloor) }
        },
        {
          scenario: "start-up",
          measure: `effect-adc --help, CLI bundle, spawn → exit (median of ${options.runs})`,
          ours: ms(help),
          peer: ms(helpUnbundled),
          peerName: "--help unbundled (dist/cli)",
          ratio: `${(help / helpUnbundled).toFixed(2)}x unbundled`,
          figures: { "p6.cli_help_ms": round(help), "p6.cli_help_unbundled_ms": round(helpUnbundled) }
        }
      )

      const gal = await importMs("google-auth-library")
      const genai = await importMs("@google/genai")
      const effect = await importMs("effect/Effect")
      rows.push({
        scenario: "start-up",
        measure: `import effect/Effect (floor of any Effect program) (median of ${importRuns})`,
        ours: ms(effect),
        peer: `${ms(gal)} / ${ms(genai)}`,
        peerName: "import google-auth-library / @google/genai",
        ratio: `${(effect / gal).toFixed(2)}x gal`
      })
      const entries = (await entryPoints()).slice(0, options.entries)
      for (const [name, spec] of entries) {
        const o = await importMs(spec)
        rows.push({
          scenario: "start-up",
          measure: `import ${name} (median of ${importRuns})`,
          ours: ms(o),
          peer: `${ms(gal)} / ${ms(genai)}`,
          peerName: "import google-auth-library / @google/genai",
          ratio: `${(o / gal).toFixed(2)}x gal`
        })
      }
      return rows
    } finally {
      await gemini.close()
      await Fs.rm(out, { recursive: true, force: true })
    }
  })
