/**
 * Ollama's fast line reader (`textLine`, issue 14 session 7) reads the compact text line
 * `{"model":"…","created_at":"…","message":{"role":"…","content":"…"},"done":false}` by
 * one pattern instead of `JSON.parse` + the check. It must be exactly `JSON.parse` on
 * the lines it takes, take every line of that shape, never take a line `JSON.parse`
 * refuses or one of another shape, give `StreamState` the same chunks and errors as the
 * general path, and never backtrack on a hostile line.
 *
 * 1. Equivalence: arbitrary strings (astral characters, lone surrogates, quotes,
 *    backslashes, control characters, U+2028/2029, empty) encoded as JavaScript's
 *    `JSON.stringify`, Go's `encoding/json` (Ollama's own printer), a minimal encoder
 *    (only the required escapes, everything else raw) and an ASCII-only one.
 * 2. Leniency: every single-character edit and truncation of seed lines, and named
 *    hostile lines, against `JSON.parse` and an exact reference of the shape.
 * 3. Streams: NDJSON bodies through `StreamState` as they are and with every text line
 *    forced onto the general path.
 * 4. Backtracking: adversarial lines just under the 64 Ki-character limit, one just over it,
 *    and a line of 4 Mi escapes (which overflowed
 *    V8's regexp stack before ab88953).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import * as Decoder from "../../src/model/internal/stream.js"
import type * as ModelError from "../../src/model/ModelError.js"
import type * as ModelResponse from "../../src/model/ModelResponse.js"
import * as Ollama from "../../src/model/ollama/internal/protocol.js"
import { fixturesRoot } from "../model/support.js"

// -----------------------------------------------------------------------------
// Encoders and the reference
// -----------------------------------------------------------------------------

interface Fields {
  readonly model: string
  readonly created_at: string
  readonly role: string
  readonly content: string
}

const hex4 = (code: number, upper = false): string => {
  const hex = code.toString(16).padStart(4, "0")
  return upper ? hex.toUpperCase() : hex
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff

/**
 * Go's `encoding/json` (`json.Marshal`, HTML escaping on, as Ollama's server prints
 * stream lines): `\"` `\\`, `\b` `\f` `\n` `\r` `\t` (Go 1.22+), other control
 * characters as `\u00xx`, `<` `>` `&` and U+2028/2029 as `\u…`, invalid UTF-16 (a Go
 * string would hold invalid UTF-8) as `\ufffd`, everything else raw.
 */
const goString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (isHigh(code) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      out += s[i]! + s[i + 1]!
      i++
    } else if (isHigh(code) || isLow(code)) out += "\\ufffd"
    else if (code === 0x22) out += "\\\""
    else if (code === 0x5c) out += "\\\\"
    else if (code === 0x08) out += "\\b"
    else if (code === 0x0c) out += "\\f"
    else if (code === 0x0a) out += "\\n"
    else if (code === 0x0d) out += "\\r"
    else if (code === 0x09) out += "\\t"
    else if (code < 0x20 || code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029) {
      out += `\\u${hex4(code)}`
    } else out += s[i]!
  }
  return out + "\""
}

/** Only the escapes JSON requires (`"`, `\`, control characters); lone surrogates stay raw. */
const minimalString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    out += code === 0x22 ? "\\\"" : code === 0x5c ? "\\\\" : code < 0x20 ? `\\u${hex4(code)}` : s[i]!
  }
  return out + "\""
}

/** ASCII only: every other code unit as `\uXXXX` (upper case hex), `/` as `\/`. */
const asciiString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    out += code === 0x22
      ? "\\\""
      : code === 0x5c
      ? "\\\\"
      : code === 0x2f
      ? "\\/"
      : code < 0x20 || code > 0x7e
      ? `\\u${hex4(code, true)}`
      : s[i]!
  }
  return out + "\""
}

interface Encoder {
  readonly name: string
  readonly string: (s: string) => string
  readonly line: (f: Fields) => string
}

const compose = (string: (s: string) => string) => (f: Fields): string =>
  `{"model":${string(f.model)},"created_at":${string(f.created_at)},"message":{"role":${string(f.role)},"content":${
    string(f.content)
  }},"done":false}`

const encoders: ReadonlyArray<Encoder> = [
  {
    name: "JSON.stringify",
    string: (s) => JSON.stringify(s),
    line: (f) =>
      JSON.stringify({
        model: f.model,
        created_at: f.created_at,
        message: { role: f.role, content: f.content },
        done: false
      })
  },
  { name: "Go encoding/json", string: goString, line: compose(goString) },
  { name: "minimal escapes", string: minimalString, line: compose(minimalString) },
  { name: "ASCII only", string: asciiString, line: compose(asciiString) }
]

/** A value's structure with its keys in order (so that equal shapes mean equal key order). */
const shape = (u: unknown): unknown =>
  typeof u === "object" && u !== null
    ? Array.isArray(u) ? u.map(shape) : Object.entries(u).map(([key, value]) => [key, shape(value)])
    : u

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const keysAre = (u: Record<string, unknown>, keys: ReadonlyArray<string>) =>
  Object.keys(u).join("\u0000") === keys.join("\u0000")

const parse = (line: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  try {
    return { ok: true, value: JSON.parse(line) }
  } catch {
    return { ok: false }
  }
}

/** No character that needs a JSON escape: the metadata strings the pattern takes as they are. */
const bare = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (code < 0x20 || code === 0x22 || code === 0x5c) return false
  }
  return true
}

/**
 * The exact set of lines `textLine` claims, written without its pattern: JSON of the
 * four keys in order (`message`: `role`, `content`), all strings, `done: false`; printed
 * compactly, `model` / `created_at` / `role` without escapes, `content` one JSON string.
 */
const isTextLine = (line: string): boolean => {
  const parsed = parse(line)
  if (!parsed.ok) return false
  const v = parsed.value
  if (!isRecord(v) || !keysAre(v, ["model", "created_at", "message", "done"]) || v.done !== false) return false
  const m = v.message
  if (!isRecord(m) || !keysAre(m, ["role", "content"])) return false
  const { created_at, model } = v
  const { content, role } = m
  if (typeof model !== "string" || typeof created_at !== "string") return false
  if (typeof role !== "string" || typeof content !== "string") return false
  if (!bare(model) || !bare(created_at) || !bare(role)) return false
  const prefix = `{"model":"${model}","created_at":"${created_at}","message":{"role":"${role}","content":"`
  const suffix = `"},"done":false}`
  if (!line.startsWith(prefix) || !line.endsWith(suffix) || line.length < prefix.length + suffix.length) return false
  const source = parse(`"${line.slice(prefix.length, line.length - suffix.length)}"`)
  return source.ok && source.value === content
}

/**
 * One line against `JSON.parse` and the reference: a description of what is wrong, or
 * `undefined`. (Collected, then asserted once: the matrices run tens of thousands.)
 */
const verdict = (line: string): string | undefined => {
  const got = Ollama.textLine(line)
  const parsed = parse(line)
  if (!parsed.ok) return got === undefined ? undefined : "took a line JSON.parse refuses"
  const expected = isTextLine(line)
  if (expected && got === undefined) return "refused a text line"
  if (!expected && got !== undefined) return "took a line of another shape"
  if (got === undefined) return undefined
  if (Object.getPrototypeOf(got) !== Object.prototype) return "not a plain object"
  if (Object.getPrototypeOf(got.message) !== Object.prototype) return "message not a plain object"
  const a = JSON.stringify(shape(got))
  const b = JSON.stringify(shape(parsed.value))
  return a === b ? undefined : `differs from JSON.parse: ${a} vs ${b}`
}

const failures = (lines: Iterable<string>): Array<{ readonly line: string; readonly problem: string }> => {
  const out: Array<{ readonly line: string; readonly problem: string }> = []
  for (const line of lines) {
    const problem = verdict(line)
    if (problem !== undefined) out.push({ line: JSON.stringify(line).slice(0, 200), problem })
  }
  return out
}

// -----------------------------------------------------------------------------
// Arbitraries
// -----------------------------------------------------------------------------

const special = FastCheck.constantFrom(
  "\"",
  "\\",
  "/",
  "\u2028",
  "\u2029",
  "<",
  ">",
  "&",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\u0000",
  "\u001f",
  "\u007f",
  "\b",
  "\f",
  "\n",
  "\r",
  "\t",
  "\ufeff",
  "\ufffd",
  "\ud83d\ude00",
  "\u{10ffff}",
  "é",
  "u",
  "\\u0041",
  "\\\"",
  "}",
  "\"},\"done\":true}"
)

/** Any UTF-16 text: specials, any code unit (lone surrogates too), astral characters, printable ASCII. */
const text = FastCheck.array(
  FastCheck.oneof(
    { arbitrary: special, weight: 3 },
    { arbitrary: FastCheck.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), weight: 2 },
    {
      arbitrary: FastCheck.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
      weight: 1
    },
    { arbitrary: FastCheck.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), weight: 4 }
  ),
  { maxLength: 24 }
).map((units) => units.join(""))

/** Metadata: sometimes arbitrary, mostly what Ollama prints (model names, timestamps, roles). */
const meta = (...usual: ReadonlyArray<string>) =>
  FastCheck.oneof(
    { arbitrary: text, weight: 1 },
    { arbitrary: FastCheck.constantFrom(...usual), weight: 2 },
    { arbitrary: FastCheck.stringMatching(/^[a-z0-9.:_-]{0,16}$/), weight: 1 }
  )

const fields: FastCheck.Arbitrary<Fields> = FastCheck.record({
  model: meta("llama3.2", "qwen3:0.6b", "", "gemma3:270m"),
  created_at: meta("2025-07-07T20:22:19.184789Z", "2025-07-07T20:22:19.19314Z", ""),
  role: meta("assistant", "user", ""),
  content: text
})

// -----------------------------------------------------------------------------
// 1. Equivalence
// -----------------------------------------------------------------------------

/** Each special alone, all together, and a few real token lines' contents. */
const namedContents: ReadonlyArray<string> = [
  "",
  " ",
  "Hello",
  "\"",
  "\\",
  "\\\\\"\"",
  "a\"b\\c/d\bé\f\n\r\t",
  "<b>&amp;</b>",
  "\u2028\u2029",
  "\ud800",
  "\udc00",
  "a\ud800b",
  "\udfff\ud800",
  "\ud83d\ude00",
  "\u{10ffff}",
  "\u0000\u0001\u001e\u001f\u007f",
  "\ufeff",
  "\\u0041",
  "\"},\"done\":true}",
  "```json\n{\"a\": [1, 2]}\n```",
  Array.from({ length: 0x80 }, (_, code) => String.fromCharCode(code)).join("")
]

describe("textLine equals JSON.parse on every compact text line", () => {
  describe.each(encoders)("encoded by $name", (encoder) => {
    it("returns a value for every line whose model, created_at and role need no escape, equal to JSON.parse with its keys in order", () => {
      let taken = 0
      let general = 0
      FastCheck.assert(
        FastCheck.property(fields, (f) => {
          const line = encoder.line(f)
          const plain = [f.model, f.created_at, f.role].every((s) => !encoder.string(s).includes("\\"))
          const got = Ollama.textLine(line)
          expect(got !== undefined).toBe(plain)
          expect(verdict(line)).toBeUndefined()
          if (got !== undefined) taken++
          else general++
        }),
        { numRuns: 1000 }
      )
      // neither side of the property is vacuous
      expect(taken).toBeGreaterThan(300)
      expect(general).toBeGreaterThan(100)
    })

    it.each(namedContents.map((content) => ({ content, shown: JSON.stringify(content).slice(0, 40) })))(
      "takes content $shown as JSON.parse reads it",
      ({ content }) => {
        const line = encoder.line({
          model: "llama3.2",
          created_at: "2025-07-07T20:22:19.184789Z",
          role: "assistant",
          content
        })
        const got = Ollama.textLine(line)
        expect(got).toBeDefined()
        expect(verdict(line)).toBeUndefined()
        expect(shape(got)).toStrictEqual(shape(JSON.parse(line)))
      }
    )
  })

  it("the Go encoder prints what json.Marshal prints", () => {
    // go1.22+: json.Marshal("<a>&\u2028\x01\"\\\b\f\n\r\t/é😀") and a string of invalid UTF-8
    expect(goString("<a>&\u2028\u0001\"\\\b\f\n\r\t/é\ud83d\ude00")).toBe(
      "\"\\u003ca\\u003e\\u0026\\u2028\\u0001\\\"\\\\\\b\\f\\n\\r\\t/é\ud83d\ude00\""
    )
    expect(goString("a\ud800b\udc00")).toBe("\"a\\ufffdb\\ufffd\"")
    FastCheck.assert(
      FastCheck.property(text, (s) => {
        const wellFormed = s.replace(
          /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
          "\ufffd"
        )
        expect(JSON.parse(goString(s))).toBe(wellFormed)
        expect(JSON.parse(minimalString(s))).toBe(s)
        expect(JSON.parse(asciiString(s))).toBe(s)
      }),
      { numRuns: 300 }
    )
  })
})

// -----------------------------------------------------------------------------
// 2. Never more lenient than JSON, never of another shape
// -----------------------------------------------------------------------------

const seeds: ReadonlyArray<string> = [
  "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-07T20:22:19.184789Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}",
  "{\"model\":\"\",\"created_at\":\"\",\"message\":{\"role\":\"\",\"content\":\"\"},\"done\":false}",
  "{\"model\":\"m\",\"created_at\":\"c\",\"message\":{\"role\":\"r\",\"content\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u2028\"},\"done\":false}",
  goLineOf("qwen3:0.6b", "<think>&\u2028\"x\"</think>")
]

function goLineOf(model: string, content: string): string {
  return compose(goString)({ model, created_at: "2025-07-07T20:22:19.19314Z", role: "assistant", content })
}

/** Characters that matter to JSON and to the pattern. */
const alphabet: ReadonlyArray<string> = [
  "\"",
  "\\",
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  " ",
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u001f",
  "\u007f",
  "u",
  "0",
  "a",
  "F",
  "x",
  "U",
  "/",
  "b",
  "t",
  "f",
  "e",
  "\ufeff",
  "\u2028",
  "\ud800",
  "é"
]

function* edits(seed: string): Generator<string> {
  for (let i = 0; i < seed.length; i++) yield seed.slice(0, i) + seed.slice(i + 1)
  for (let i = 0; i <= seed.length; i++) {
    for (const c of alphabet) yield seed.slice(0, i) + c + seed.slice(i)
  }
  for (let i = 0; i < seed.length; i++) {
    for (const c of alphabet) if (c !== seed[i]) yield seed.slice(0, i) + c + seed.slice(i + 1)
  }
  for (let n = 0; n < seed.length; n++) yield seed.slice(0, n)
}

const base: Fields = { model: "llama3.2", created_at: "2025-07-07T20:22:19.184789Z", role: "assistant", content: "Hi" }
const keys = ["model", "created_at", "role", "content"] as const

/** The base line with one field's JSON source (between its quotes) replaced. */
const withSource = (key: (typeof keys)[number], source: string): string =>
  compose((s) => `"${s}"`)({ ...base, [key]: source })

const permutations = <A>(items: ReadonlyArray<A>): Array<Array<A>> =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) =>
      permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])
    )

const baseLine = compose((s) => `"${s}"`)(base)
const entries: Record<string, string> = {
  model: "\"model\":\"llama3.2\"",
  created_at: "\"created_at\":\"2025-07-07T20:22:19.184789Z\"",
  message: "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"}",
  done: "\"done\":false"
}

/** Named hostile lines: none is a compact text line, whatever JSON.parse says of it. */
const hostile: Record<string, ReadonlyArray<string>> = {
  "raw control character in a string": keys.flatMap((key) =>
    Array.from({ length: 0x20 }, (_, code) => withSource(key, `a${String.fromCharCode(code)}b`))
  ),
  "invalid escape": keys.flatMap((key) =>
    [
      "\\x41",
      "\\u12",
      "\\u12G4",
      "\\u{41}",
      "\\U0041",
      "\\a",
      "\\'",
      "\\0",
      "\\ ",
      "\\\n",
      "\\",
      "\\u",
      "a\\u00",
      "\\\\\\",
      "\\\u2028",
      "\\ud83d\\u"
    ].map((source) => withSource(key, source))
  ),
  "escape in model, created_at or role (valid JSON, general path)": (["model", "created_at", "role"] as const).flatMap((
    key
  ) => ["\\n", "\\\"", "\\u0041", "\\/"].map((source) => withSource(key, source))),
  "unescaped quote": keys.flatMap((key) =>
    ["\"", "a\"b", "a\"\"b", "\"},\"done\":false}"].map((s) => withSource(key, s))
  ),
  "extra whitespace": [" ", "\t", "\n", "\r"].flatMap((ws) => {
    const out: Array<string> = [ws + baseLine, baseLine + ws]
    for (let i = 0; i < baseLine.length; i++) {
      // around every structural character outside the strings
      if ("{}:,".includes(baseLine[i]!) && !(baseLine.slice(0, i).split("\"").length % 2 === 0)) {
        out.push(baseLine.slice(0, i) + ws + baseLine.slice(i), baseLine.slice(0, i + 1) + ws + baseLine.slice(i + 1))
      }
    }
    return out
  }),
  "keys reordered": [
    ...permutations(["model", "created_at", "message", "done"]).map((order) =>
      `{${order.map((k) => entries[k]).join(",")}}`
    )
      .filter((line) => line !== baseLine),
    baseLine.replace("{\"role\":\"assistant\",\"content\":\"Hi\"}", "{\"content\":\"Hi\",\"role\":\"assistant\"}")
  ],
  "keys missing or extra": [
    baseLine.replace("\"model\":\"llama3.2\",", ""),
    baseLine.replace("\"created_at\":\"2025-07-07T20:22:19.184789Z\",", ""),
    baseLine.replace("\"role\":\"assistant\",", ""),
    baseLine.replace(",\"content\":\"Hi\"", ""),
    baseLine.replace(",\"done\":false", ""),
    baseLine.replace("{", "{\"x\":1,"),
    baseLine.replace("}", ",\"thinking\":\"t\"}"),
    baseLine.replace("{\"role\"", "{\"thinking\":\"t\",\"role\""),
    baseLine.replace("\"content\":\"Hi\"", "\"content\":\"Hi\",\"tool_calls\":[]"),
    baseLine.replace(",\"done\":false", ",\"done_reason\":\"stop\",\"done\":false"),
    baseLine.replace("\"model\":\"llama3.2\"", "\"model\":\"a\",\"model\":\"llama3.2\""),
    baseLine.replace("\"content\":\"Hi\"", "\"content\":\"Hi\",\"content\":\"Ho\""),
    baseLine.replace(",\"done\":false}", ",\"done\":true,\"done\":false}"),
    baseLine.replace("{", "{\"error\":\"boom\",")
  ],
  "done not false": ["true", "0", "null", "\"false\"", "False", "fals", "false ", "[false]"].map((done) =>
    baseLine.replace("\"done\":false", `"done":${done}`)
  ),
  "wrong value types": [
    baseLine.replace("\"llama3.2\"", "null"),
    baseLine.replace("\"llama3.2\"", "1"),
    baseLine.replace("\"assistant\"", "[\"assistant\"]"),
    baseLine.replace("\"Hi\"", "{}"),
    baseLine.replace("{\"role\":\"assistant\",\"content\":\"Hi\"}", "\"Hi\"")
  ],
  "trailing or leading garbage": ["x", ",", "}", "{}", "\u0000", "\u2028", "\ufeff", "\n{}", "//"].flatMap((g) => [
    baseLine + g,
    g + baseLine
  ]),
  "BOM": [
    "\ufeff" + baseLine,
    baseLine.replace("{\"model\"", "{\ufeff\"model\""),
    baseLine.replace("\"llama", "\ufeff\"llama")
  ],
  "other quotes and cases": [
    baseLine.replaceAll("\"", "'"),
    baseLine.replace("\"model\"", "model"),
    baseLine.replace("\"model\"", "\"Model\""),
    baseLine.replace("\"model\"", "\"\\u006dodel\""),
    baseLine.replace("\"content\"", "\"con\\u0074ent\"")
  ]
}

/** Valid variants the reader must take (and read as JSON.parse does). */
const takes: ReadonlyArray<string> = [
  withSource("content", "\\u00E9\\u00e9\\uD83D\\uDE00\\/"),
  withSource("content", "\u007f\u2028\u2029\ud800\ufeff"),
  withSource("model", "\u007f\u2028\ud800\udfff"),
  withSource("content", "\\\\\\\\\\\""),
  withSource("content", "\\u0000\\u001F\\u005c\\u0022"),
  withSource("role", "")
]

describe("textLine is never more lenient than JSON.parse", () => {
  it.each(seeds.map((seed, i) => ({ seed, i })))(
    "every deletion, insertion, replacement and truncation of seed $i: refused where JSON.parse throws, else JSON.parse's value exactly on the text shape",
    ({ seed }) => {
      expect(verdict(seed)).toBeUndefined()
      expect(Ollama.textLine(seed)).toBeDefined()
      const lines = [...edits(seed)]
      expect(lines.length).toBe(seed.length * (2 * alphabet.length + 2) + alphabet.length - replacementsSkipped(seed))
      expect(failures(lines)).toStrictEqual([])
      // the mutants include lines the reader takes (edits inside a string) and lines it refuses
      const taken = lines.filter((line) => Ollama.textLine(line) !== undefined).length
      expect(taken).toBeGreaterThan(0)
      expect(taken).toBeLessThan(lines.length)
    }
  )

  it("random multi-character edits of the seeds agree with JSON.parse and the reference", () => {
    const edit = FastCheck.record({
      at: FastCheck.nat(),
      drop: FastCheck.nat({ max: 3 }),
      put: FastCheck.array(FastCheck.constantFrom(...alphabet), { maxLength: 3 }).map((cs) => cs.join(""))
    })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom(...seeds),
        FastCheck.array(edit, { minLength: 1, maxLength: 4 }),
        (seed, list) => {
          let line = seed
          for (const e of list) {
            const at = e.at % (line.length + 1)
            line = line.slice(0, at) + e.put + line.slice(at + e.drop)
          }
          expect(verdict(line)).toBeUndefined()
        }
      ),
      { numRuns: 3000 }
    )
  })

  it.each(Object.entries(hostile).map(([name, lines]) => ({ name, lines, count: lines.length })))(
    "$name ($count lines): refused, as JSON.parse refuses or as another shape",
    ({ lines }) => {
      expect(lines.length).toBeGreaterThan(0)
      expect(lines.filter((line) => Ollama.textLine(line) !== undefined)).toStrictEqual([])
      expect(failures(lines)).toStrictEqual([])
    }
  )

  it.each(takes.map((line) => ({ line, shown: JSON.stringify(line).slice(0, 90) })))(
    "takes $shown as JSON.parse reads it",
    ({ line }) => {
      expect(Ollama.textLine(line)).toBeDefined()
      expect(verdict(line)).toBeUndefined()
    }
  )
})

/** Replacements skipped because the character is already there. */
function replacementsSkipped(seed: string): number {
  let n = 0
  for (let i = 0; i < seed.length; i++) if (alphabet.includes(seed[i]!)) n++
  return n
}

// -----------------------------------------------------------------------------
// 3. StreamState: the same chunks and errors as the general path
// -----------------------------------------------------------------------------

const fixture = readFileSync(new URL("ollama/chat-stream-tool-call.ndjson", fixturesRoot), "utf8")
const fixtureLines = fixture.split("\n").filter((line) => line !== "")
const doneLine = fixtureLines[fixtureLines.length - 1]!

/** A text line forced onto the general path: `{ "model"…` (valid JSON, refused by the pattern). */
const forced = (line: string): string => `{ ${line.slice(1)}`

interface Outcome {
  readonly chunks: Array<ModelResponse.ModelStreamChunk>
  readonly error: ModelError.ModelError | undefined
  readonly fast: number
}

/** A body through the real decoder (UTF-8, NDJSON framing, `StreamState`), read by read. */
const run = (reads: ReadonlyArray<Uint8Array>, general: boolean): Outcome => {
  const chunks: Array<ModelResponse.ModelStreamChunk> = []
  let fast = 0
  const protocol = (): Decoder.Protocol => {
    const state = new Ollama.StreamState({ backend: "ollama" })
    return {
      context: state.context,
      step: (frame, out) => {
        if (typeof frame === "string" && Ollama.textLine(frame) !== undefined) {
          fast++
          if (general) {
            const line = forced(frame)
            if (Ollama.textLine(line) !== undefined) throw new Error("forcing failed")
            return state.step(line, out)
          }
        }
        return state.step(frame, out)
      },
      end: (out) => state.end(out)
    }
  }
  const result = Effect.runSync(
    Stream.fromIterable(reads).pipe(
      Decoder.decode(Decoder.ndjson, protocol),
      Stream.runForEach((chunk) => Effect.sync(() => chunks.push(chunk))),
      Effect.either
    )
  )
  return { chunks, error: Either.isLeft(result) ? result.left : undefined, fast }
}

const errorView = (error: ModelError.ModelError | undefined) =>
  error === undefined ? undefined : { ...error, _tag: error._tag, message: error.message }

/** Both runs of one body: deep-equal chunks (keys in order) and errors; the fast lines counted. */
const compare = (body: string, cuts: ReadonlyArray<number> = []): Outcome => {
  const bytes = new TextEncoder().encode(body)
  const at = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const reads: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...at, bytes.length]) {
    reads.push(bytes.subarray(from, cut))
    from = cut
  }
  const asIs = run(reads, false)
  const general = run(reads, true)
  expect(asIs.chunks).toStrictEqual(general.chunks)
  expect(JSON.stringify(shape(asIs.chunks))).toBe(JSON.stringify(shape(general.chunks)))
  expect(errorView(asIs.error)).toStrictEqual(errorView(general.error))
  expect(asIs.fast).toBe(general.fast)
  return asIs
}

const badLines: ReadonlyArray<string> = [
  withSource("content", "a\\x"),
  withSource("content", "a\u0001b"),
  withSource("model", "\\u12"),
  baseLine.slice(0, -1),
  "not json",
  "{\"error\":\"model runner has unexpectedly stopped\"}",
  "{\"done\":\"no\"}",
  "[1,2]",
  baseLine.replace("\"Hi\"", "7"),
  "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{bad\"}}]},\"done\":false}"
]

const goodLine = FastCheck.oneof(
  {
    arbitrary: fields.map((f) =>
      JSON.stringify({
        model: f.model,
        created_at: f.created_at,
        message: { role: f.role, content: f.content },
        done: false
      })
    ),
    weight: 3
  },
  { arbitrary: fields.map(compose(goString)), weight: 3 },
  { arbitrary: fields.map((f) => compose(asciiString)({ ...f, model: "llama3.2", role: "assistant" })), weight: 1 },
  {
    arbitrary: FastCheck.constantFrom(
      fixtureLines[0]!,
      "{\"model\":\"qwen3:0.6b\",\"created_at\":\"c\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hmm\"},\"done\":false}",
      "{\"model\":\"llama3.2\",\"created_at\":\"c\",\"response\":\"Hi\",\"done\":false}",
      `${baseLine}\r`
    ),
    weight: 1
  }
)

const body = FastCheck.record({
  lines: FastCheck.array(goodLine, { maxLength: 10 }),
  bad: FastCheck.oneof(
    { arbitrary: FastCheck.constant(undefined), weight: 2 },
    { arbitrary: FastCheck.record({ line: FastCheck.constantFrom(...badLines), at: FastCheck.nat() }), weight: 1 }
  ),
  done: FastCheck.integer({ min: 0, max: 3 }).map((n) => n > 0),
  after: FastCheck.boolean(),
  cuts: FastCheck.array(FastCheck.nat(), { maxLength: 5 })
})

describe("StreamState gives the same chunks on the fast and the general path", () => {
  it("the recorded tool-call stream, whole and cut at every byte", () => {
    const bytes = new TextEncoder().encode(fixture).length
    for (let cut = 0; cut <= bytes; cut++) {
      const outcome = compare(fixture, [cut])
      expect(outcome.error).toBeUndefined()
      expect(outcome.chunks.length).toBe(2)
    }
  })

  it("the recorded stream with text lines (escapes, Go's and JavaScript's) before its done line", () => {
    const text = [
      compose(goString)({ ...base, content: "<b>\"Tokyo\"</b> & \u2028\\ \ud800" }),
      JSON.stringify({
        model: base.model,
        created_at: base.created_at,
        message: { role: "assistant", content: "line\nbreak\t\"q\" \ud83d\ude00 \udc00" },
        done: false
      }),
      withSource("content", "\\u00e9\\/\\b"),
      baseLine
    ]
    const outcome = compare([...fixtureLines.slice(0, -1), ...text, doneLine].join("\n") + "\n")
    expect(outcome.error).toBeUndefined()
    expect(outcome.fast).toBe(4)
    expect(outcome.chunks.map((c) => c.textDelta)).toStrictEqual([
      "",
      "<b>\"Tokyo\"</b> & \u2028\\ \ufffd",
      // JSON.stringify writes a lone surrogate as an escape: it survives UTF-8 (Go's became U+FFFD)
      "line\nbreak\t\"q\" \ud83d\ude00 \udc00",
      "é/\b",
      "Hi",
      ""
    ])
  })

  it.each(badLines.map((line) => ({ line, shown: line.slice(0, 50) })))(
    "the same error for bad line $shown between text lines",
    ({ line }) => {
      const outcome = compare([baseLine, withSource("content", "\\n"), line, baseLine, doneLine].join("\n"))
      expect(outcome.fast).toBeGreaterThanOrEqual(2)
      expect(outcome.error).toBeDefined()
    }
  )

  it("generated NDJSON bodies: text lines, tool calls, thinking, bad lines, with and without the done line, cut into reads", () => {
    let fastLines = 0
    let errors = 0
    let complete = 0
    FastCheck.assert(
      FastCheck.property(body, (b) => {
        const lines = [...b.lines]
        if (b.bad !== undefined) lines.splice(b.bad.at % (lines.length + 1), 0, b.bad.line)
        if (b.done) lines.push(doneLine)
        if (b.after) lines.push(baseLine)
        const outcome = compare(lines.join("\n") + (lines.length > 0 ? "\n" : ""), b.cuts)
        fastLines += outcome.fast
        if (outcome.error !== undefined) errors++
        else complete++
      }),
      { numRuns: 400 }
    )
    expect(fastLines).toBeGreaterThan(400)
    expect(errors).toBeGreaterThan(100)
    expect(complete).toBeGreaterThan(100)
  })
})

// -----------------------------------------------------------------------------
// 4. No catastrophic backtracking
// -----------------------------------------------------------------------------

// the longest line textLine reads is 64 Ki characters: the hostile lines fill it
const MB = 60 * 1024
const maxTextLine = 64 * 1024
const prefix = "{\"model\":\"m\",\"created_at\":\"c\",\"message\":{\"role\":\"r\",\"content\":\""
const suffix = "\"},\"done\":false}"
const inContent = (source: string) => prefix + source + suffix
const escapedSuffix = "\\\"},\\\"done\\\":false}"

const adversarial: ReadonlyArray<{ readonly name: string; readonly line: string; readonly taken: boolean }> = [
  { name: "60 Ki backslashes (even)", line: inContent("\\".repeat(MB)), taken: true },
  { name: "60 Ki + 1 backslashes (odd)", line: inContent("\\".repeat(MB + 1)), taken: false },
  { name: "\\u fragments", line: inContent("\\u".repeat(MB / 2)), taken: false },
  { name: "\\u00 fragments", line: inContent("\\u00".repeat(MB / 4)), taken: false },
  { name: "\\u004 fragments then a valid one", line: inContent("\\u004".repeat(MB / 5) + "\\u0041"), taken: false },
  { name: "\\u0041 escapes", line: inContent("\\u0041".repeat(MB / 6)), taken: true },
  {
    name: "\\u0041 escapes, bad last byte",
    line: inContent("\\u0041".repeat(MB / 6)).slice(0, -1) + "]",
    taken: false
  },
  { name: "\\n escapes, last byte missing", line: inContent("\\n".repeat(MB / 2)).slice(0, -1), taken: false },
  { name: "escaped quotes", line: inContent("\\\"".repeat(MB / 2)), taken: true },
  { name: "escaped quotes, the last one bare", line: inContent("\\\"".repeat(MB / 2) + "\""), taken: false },
  { name: "raw run then a quote near the end", line: inContent("a".repeat(MB) + "\"a"), taken: false },
  {
    name: "raw run then an odd backslash before the closing quote",
    line: inContent("a".repeat(MB) + "\\"),
    taken: false
  },
  {
    name: "text and escapes then a control character",
    line: inContent("ab\\n".repeat(MB / 4) + "\u0001"),
    taken: false
  },
  { name: "valid 60 KB content, trailing space", line: inContent("ab\\t".repeat(MB / 4)) + " ", taken: false },
  { name: "valid 60 KB content, done:true", line: inContent("x".repeat(MB)).replace(/false}$/, "true}"), taken: false },
  {
    name: "60 Ki quotes in model",
    line: "{\"model\":\"" + "\"".repeat(MB) +
      "\",\"created_at\":\"c\",\"message\":{\"role\":\"r\",\"content\":\"\"},\"done\":false}",
    taken: false
  },
  {
    name: "60 KB model, created_at missing",
    line: "{\"model\":\"" + "m".repeat(MB) + "\",\"message\":{\"role\":\"r\",\"content\":\"\"},\"done\":false}",
    taken: false
  },
  { name: "the line's prefix repeated", line: prefix.repeat(MB / prefix.length), taken: false },
  {
    name: "suffixes inside the content, escaped",
    line: inContent(escapedSuffix.repeat(MB / escapedSuffix.length)),
    taken: true
  }
]

describe("textLine does not backtrack on hostile lines", () => {
  it.each(adversarial.map((c) => ({ ...c, size: c.line.length })))(
    "$name ($size chars): returns, and agrees with JSON.parse",
    ({ line, taken }) => {
      expect(line.length).toBeGreaterThan(MB - 1024)
      expect(line.length).toBeLessThanOrEqual(maxTextLine)
      expect(Ollama.textLine(line) !== undefined).toBe(taken)
      expect(verdict(line)).toBeUndefined()
    }
  )

  it("a valid text line one character over the limit goes the general way, with the same chunk", () => {
    const content = "a".repeat(maxTextLine + 1 - inContent("").length)
    const line = inContent(content)
    expect(line.length).toBe(maxTextLine + 1)
    expect(Ollama.textLine(line)).toBeUndefined()
    expect(Ollama.textLine(inContent(content.slice(1)))?.message?.content).toBe(content.slice(1))
    const outcome = compare(`${line}\n${doneLine}\n`)
    expect(outcome.error).toBeUndefined()
    expect(outcome.chunks[0]!.textDelta).toBe(content)
  })

  it("a line of 4 Mi escapes (past V8's regexp backtrack stack) goes the general way: no throw, the same chunks", () => {
    const line = inContent("\\n".repeat(4 * MB))
    expect(() => Ollama.textLine(line)).not.toThrow()
    const got = Ollama.textLine(line)
    if (got !== undefined) expect(got.message?.content).toBe("\n".repeat(4 * MB))
    const outcome = compare(`${line}\n${doneLine}\n`)
    expect(outcome.error).toBeUndefined()
    expect(outcome.chunks.length).toBe(2)
    expect(outcome.chunks[0]!.textDelta).toBe("\n".repeat(4 * MB))
  })
})
