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
 *   since its process started) when it has the token.
 */
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

const importScript = `const t = performance.now()
await import(process.env.BENCH_SPEC)
process.stdout.write(JSON.stringify({ ms: performance.now() - t }) + "\\n")
process.exit(0)`

/** The first-token scripts, written next to the transpiled sources (so bare imports resolve from the repo). */
const scripts = {
  "ours-token.mjs": `import * as Effect from "effect/Effect"
import { AuthService } from "../auth/index.js"
const token = await Effect.runPromise(
  Effect.scoped(Effect.flatMap(AuthService.AuthService, (auth) => auth.accessToken())).pipe(
    Effect.provide(AuthService.layer())
  )
)
if (token === undefined) throw new Error("no token")
process.stdout.write(JSON.stringify({ ms: performance.now() }) + "\\n")
process.exit(0)`,
  "gal-token.mjs": `import { GoogleAuth } from "google-auth-library"
const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] })
const token = await auth.getAccessToken()
if (!token) throw new Error("no token")
process.stdout.write(JSON.stringify({ ms: performance.now() }) + "\\n")
process.exit(0)`,
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
process.stdout.write(JSON.stringify({ ms: performance.now() }) + "\\n")
process.exit(0)`,
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
process.stdout.write(JSON.stringify({ ms: performance.now() }) + "\\n")
process.exit(0)`
} as const

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const ms = (x: number) => `${x.toFixed(1)} ms`

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
      const scriptMs = async (name: keyof typeof scripts) => {
        const xs: Array<number> = []
        for (let i = 0; i < options.runs; i++) xs.push((await runNode([Path.join(dir, name)], env)).ms!)
        return median(xs)
      }

      const firstToken = [
        ["process start → first access token", "ours-token.mjs", "gal-token.mjs", "google-auth-library getAccessToken"],
        [
          "process start → first streamed model chunk",
          "ours-model.mjs",
          "genai-model.mjs",
          "@google/genai generateContentStream + gal"
        ]
      ] as const
      for (const [measure, ours, peer, peerName] of firstToken) {
        if (options.runs > 1) {
          // warm the file cache, once each
          await scriptMs(ours)
          await scriptMs(peer)
        }
        const o = await scriptMs(ours)
        const p = await scriptMs(peer)
        rows.push({
          scenario: "start-up",
          measure: `${measure} (median of ${options.runs})`,
          ours: ms(o),
          peer: ms(p),
          peerName,
          ratio: `${(o / p).toFixed(2)}x (ours/peer time)`
        })
      }

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
