/**
 * Extracts the TypeScript blocks of the docs and type-checks them in one Program.
 *
 * Every ```ts (or ```typescript) fence in README.md and docs/*.md is a module of its own.
 * A fragment may carry hidden code around it (CONTRIBUTING.md, "Docs snippets"):
 *
 *   <!-- prelude
 *   import * as Effect from "effect/Effect"
 *   Effect.gen(function*() {
 *   -->
 *   ```ts
 *   const auth = yield* AuthService.AuthService
 *   ```
 *   <!-- postlude
 *   })
 *   -->
 *
 * "effect-adc" and "effect-adc/…" resolve to `src/` through the package's own `exports`
 * (the `.d.ts` under `dist/` mapped to the `.ts` under `src/`), so the docs are checked
 * against the code of this commit, not a build.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

/** One fenced TypeScript block. */
export interface Snippet {
  /** README.md, docs/models.md, … (relative to the repository root) */
  readonly file: string
  /** 1-based line of the opening fence */
  readonly line: number
  readonly prelude: string
  readonly code: string
  readonly postlude: string
}

const fence = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/
const isTs = (info: string) => info === "ts" || info === "typescript"

const blank = (line: string | undefined) => line !== undefined && line.trim() === ""

/** The code inside `<!-- NAME … -->` (the comment's own lines joined). */
const inner = (comment: string, name: string) =>
  comment.trim().slice("<!--".length, -"-->".length).trimStart().slice(name.length).replace(/^[ \t]*\n/, "").trimEnd()

const opens = (line: string, name: string) => new RegExp(`^<!--\\s*${name}(\\s|$)`).test(line.trim())

/** The comment `<!-- NAME … -->` ending on line `end`, or undefined. */
const commentBefore = (lines: ReadonlyArray<string>, end: number, name: string): string | undefined => {
  if (end < 0 || !lines[end]!.trim().endsWith("-->")) return undefined
  for (let i = end; i >= 0; i--) {
    if (opens(lines[i]!, name)) return inner(lines.slice(i, end + 1).join("\n"), name)
    if (i < end && lines[i]!.includes("-->")) return undefined
  }
  return undefined
}

/** The comment `<!-- NAME … -->` starting on line `start`, or undefined. */
const commentAfter = (lines: ReadonlyArray<string>, start: number, name: string): string | undefined => {
  if (start >= lines.length || !opens(lines[start]!, name)) return undefined
  for (let i = start; i < lines.length; i++) {
    if (lines[i]!.trim().endsWith("-->")) return inner(lines.slice(start, i + 1).join("\n"), name)
  }
  return undefined
}

/** Every TypeScript block of one markdown text. */
export const extract = (file: string, text: string): Array<Snippet> => {
  const lines = text.split("\n")
  const snippets: Array<Snippet> = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!)
    if (open === null) continue
    const [, indent = "", marker = "```", info = ""] = open
    let close = i + 1
    while (close < lines.length && !lines[close]!.trim().startsWith(marker)) close++
    if (isTs(info.toLowerCase())) {
      let before = i - 1
      while (blank(lines[before])) before--
      let after = close + 1
      while (blank(lines[after])) after++
      snippets.push({
        file,
        line: i + 1,
        prelude: commentBefore(lines, before, "prelude") ?? "",
        code: lines.slice(i + 1, close).map((l) => l.startsWith(indent) ? l.slice(indent.length) : l).join("\n"),
        postlude: commentAfter(lines, after, "postlude") ?? ""
      })
    }
    i = close
  }
  return snippets
}

/** README.md and docs/*.md of the repository at `root`. */
export const markdownFiles = (root: string): Array<string> => [
  "README.md",
  ...fs.readdirSync(path.join(root, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)
]

/** The `paths` mapping "effect-adc/…" → src/….ts, read from package.json's `exports`. */
const selfPaths = (root: string): Record<string, Array<string>> => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    readonly name: string
    readonly exports: Record<string, string | { readonly types?: string }>
  }
  const paths: Record<string, Array<string>> = {}
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === "string" || target.types === undefined) continue
    const source = target.types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts")
    paths[subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`] = [path.join(root, source)]
  }
  return paths
}

/** A checked snippet: its diagnostics, each located in the markdown file. */
export interface Checked {
  readonly snippet: Snippet
  readonly errors: ReadonlyArray<string>
}

/**
 * Type-checks every snippet in one Program with the project's tsconfig.json (strict,
 * exactOptionalPropertyTypes, noUncheckedIndexedAccess, …) except `noUnusedLocals` and
 * `noUnusedParameters`: a doc may show a value without using it.
 */
export const check = (root: string, snippets: ReadonlyArray<Snippet>): Array<Checked> => {
  const config = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile)
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    moduleDetection: ts.ModuleDetectionKind.Force,
    paths: selfPaths(root)
  }
  // Virtual files beside package.json (so `"type": "module"` and node_modules apply).
  const dir = path.join(root, "test", "docs", ".snippets")
  const files = new Map<string, { readonly snippet: Snippet; readonly text: string; readonly offset: number }>()
  for (const snippet of snippets) {
    const name = path.join(dir, `${snippet.file.replace(/[^\w]/g, "_")}_L${snippet.line}.ts`)
    const prelude = snippet.prelude === "" ? "" : `${snippet.prelude}\n`
    files.set(name, {
      snippet,
      text: `${prelude}${snippet.code}\n${snippet.postlude}\n`,
      offset: prelude === "" ? 0 : prelude.split("\n").length - 1
    })
  }
  const host = ts.createCompilerHost(options, true)
  const { fileExists, getSourceFile, readFile } = host
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name)
  host.readFile = (name) => files.get(name)?.text ?? readFile.call(host, name)
  host.getSourceFile = (name, language, onError, create) => {
    const file = files.get(name)
    return file === undefined
      ? getSourceFile.call(host, name, language, onError, create)
      : ts.createSourceFile(name, file.text, language, true)
  }
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host })
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]
  return [...files.entries()].map(([name, file]) => {
    const source = program.getSourceFile(name)!
    const diagnostics = [
      ...global,
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source)
    ]
    const errors = diagnostics.map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n")
      if (d.file === undefined || d.start === undefined) return `TS${d.code}: ${message}`
      const at = d.file.getLineAndCharacterOfPosition(d.start)
      const where = at.line < file.offset
        ? `${file.snippet.file}:${file.snippet.line} (prelude line ${at.line + 1})`
        : at.line - file.offset >= file.snippet.code.split("\n").length
        ? `${file.snippet.file}:${file.snippet.line} (postlude)`
        : `${file.snippet.file}:${file.snippet.line + 1 + at.line - file.offset}:${at.character + 1}`
      return `${where} TS${d.code}: ${message}`
    })
    return { snippet: file.snippet, errors }
  })
}
