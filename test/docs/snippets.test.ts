import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { check, extract, markdownFiles, type Snippet } from "./snippets.js"

// Every ```ts block of README.md and docs/*.md type-checks against src/ (one Program for
// all of them); the convention for hidden preludes is in CONTRIBUTING.md.

const root = path.resolve(import.meta.dirname, "../..")
const texts = markdownFiles(root).map((file) => ({ file, text: fs.readFileSync(path.join(root, file), "utf8") }))
const snippets: Array<Snippet> = texts.flatMap(({ file, text }) => extract(file, text))
const checked = check(root, snippets)

describe("docs snippets", () => {
  it("extracts every ```ts and ```typescript fence of README.md and docs/*.md", () => {
    const fences = texts.flatMap(({ file, text }) =>
      text.split("\n").flatMap((line, i) =>
        /^\s*(`{3,}|~{3,})\s*(ts|typescript)\s*$/i.test(line) ? [`${file}:${i + 1}`] : []
      )
    )
    expect(fences.length).toBeGreaterThan(20)
    expect(snippets.map((s) => `${s.file}:${s.line}`)).toEqual(fences)
  })

  it("attaches every prelude and postlude comment to a block", () => {
    const count = (name: string) =>
      texts.reduce((n, { text }) => n + (text.match(new RegExp(`^\\s*<!--\\s*${name}(\\s|$)`, "gm"))?.length ?? 0), 0)
    expect(snippets.filter((s) => s.prelude !== "").length).toBe(count("prelude"))
    expect(snippets.filter((s) => s.postlude !== "").length).toBe(count("postlude"))
  })

  describe.each(checked.map((c) => [`${c.snippet.file}:${c.snippet.line}`, c] as const))("%s", (_, { errors }) => {
    it("type-checks", () => {
      expect(errors.join("\n")).toBe("")
    })
  })
})
