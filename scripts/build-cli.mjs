#!/usr/bin/env node
/**
 * `npm run build:cli` (run by `prepack`, so `npm pack` / `npm publish` ship it): the
 * `effect-adc` command as an esbuild bundle in `dist/bin/` (or the directory given as the
 * first argument). `bin/effect-adc.mjs` runs it when present.
 *
 * - One ES module per lazily loaded part (`splitting`): `effect-adc.mjs` holds only the
 *   entry; the command tree, each subcommand and the runtime are chunks loaded on demand.
 * - Self-contained: effect, @effect/platform, @effect/platform-node and @effect/cli are
 *   inside, so the command works from a plain library install (they are optional peers of
 *   the library) and loads a few files instead of about 1000 modules. External:
 *   google-auth-library (a dependency; loaded only for credential files) and
 *   @modelcontextprotocol/sdk (an optional peer the `demo` command checks for).
 * - `--help` is rendered here, by running the bundle's own `--help` once plain and once
 *   coloured, and defined into the second build (`src/cli/internal/help.ts`), so the
 *   published `effect-adc --help` prints it without loading the command tree.
 */
import * as esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outdir = resolve(process.argv[2] ?? join(root, "dist", "bin"))

/** The esbuild options for a bundle in `dir`, with `define`. */
const options = (dir, define) => ({
  absWorkingDir: root,
  entryPoints: { "effect-adc": join(root, "src", "cli", "main.ts") },
  outdir: dir,
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  // .mjs: ES modules wherever the files are copied, whatever the nearest package.json says
  outExtension: { ".js": ".mjs" },
  external: ["google-auth-library", "@modelcontextprotocol/sdk"],
  // CommonJS dependencies inside (undici) call `require` for Node's built-in modules
  banner: {
    js:
      `import { createRequire as __effectAdcRequire } from "node:module";const require = __effectAdcRequire(import.meta.url);`
  },
  define,
  logLevel: "warning"
})

/** Runs a bundle's `--help` with colour forced on or off; its stdout. */
const help = (dir, colour) => {
  const env = { ...process.env }
  delete env["NO_COLOR"]
  delete env["FORCE_COLOR"]
  Object.assign(env, colour ? { FORCE_COLOR: "1" } : { NO_COLOR: "1" })
  return execFileSync(process.execPath, [join(dir, "effect-adc.mjs"), "--help"], { env, encoding: "utf8" })
}

const scratch = mkdtempSync(join(tmpdir(), "effect-adc-build-cli-"))
try {
  await esbuild.build(options(scratch, {}))
  const rendered = { plain: help(scratch, false), colour: help(scratch, true) }
  // only what a previous build wrote (chunk names change with their content)
  rmSync(join(outdir, "chunks"), { recursive: true, force: true })
  rmSync(join(outdir, "effect-adc.mjs"), { force: true })
  await esbuild.build(options(outdir, { EFFECT_ADC_HELP: JSON.stringify(rendered) }))
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
console.log(`effect-adc: CLI bundle in ${outdir}`)
