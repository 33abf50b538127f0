/**
 * The structural fast path before the Schema decode of wire bodies (`guard.ts`, used by
 * `decodeWire`) against the Schema alone, on the same inputs: every recorded body and
 * stream event in ../shared/fixtures, and thousands of variants of them (a field
 * dropped, or replaced by a value of another type). Both paths must give the same
 * result: the same decoded value, or a Decode error with the same message. The fast
 * path must also take every recorded body (else it would never be the fast one) and
 * reject every variant the Schema rejects.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import { readdirSync, readFileSync } from "node:fs"
import { scrub } from "../../src/internal/scrub.js"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import { decodeWire } from "../../src/model/internal/common.js"
import { withPlainPrototype } from "../../src/model/internal/fastpath.js"
import { guard } from "../../src/model/internal/guard.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as Ollama from "../../src/model/ollama/internal/protocol.js"
import * as OpenAI from "../../src/model/openai/internal/protocol.js"
import { fixturesRoot, ssePayloads, textLines } from "./support.js"

const read = (path: string) => readFileSync(new URL(path, fixturesRoot), "utf8")

const jsonLines = (text: string) => textLines(text).map((l) => JSON.parse(l))

interface Input {
  readonly name: string
  readonly schema: Schema.Schema.AnyNoContext
  readonly what: string
  readonly body: unknown
}

/** Every recorded body and event, with the schema its client decodes it with. */
const inputs = (): Array<Input> => {
  const out: Array<Input> = []
  for (const dir of ["gemini", "ollama", "openai-compat"]) {
    for (const file of readdirSync(new URL(dir, fixturesRoot)).sort()) {
      const path = `${dir}/${file}`
      const text = read(path)
      const single = file.endsWith(".json") ? JSON.parse(text) as Record<string, unknown> : undefined
      if (single !== undefined && "status" in single && "body" in single) continue // error recordings
      const bodies = single !== undefined
        ? [single]
        : file.endsWith(".sse") || file.endsWith("-sse.txt")
        ? ssePayloads(text).filter((p) => p !== "[DONE]").map((p) => JSON.parse(p) as unknown)
        : jsonLines(text)
      const [schema, what]: readonly [Schema.Schema.AnyNoContext, string] = dir === "gemini"
        ? file.includes("count-tokens")
          ? [Gemini.CountTokensResponse, "a countTokens response"]
          : [Gemini.GenerateContentResponse, "a generateContent response"]
        : dir === "ollama"
        ? [Ollama.ChatResponse, "an Ollama chat response"]
        : single !== undefined
        ? [OpenAI.ChatCompletion, "a chat completion"]
        : [OpenAI.ChatCompletionChunk, "a chat completion chunk"]
      bodies.forEach((body, i) => out.push({ name: `${path}#${i}`, schema, what, body }))
    }
  }
  return out
}

const replacements: ReadonlyArray<unknown> = [null, 42, "x", true, [], {}, [{}]]

/** Variants of `body`: at each path, the value dropped or replaced by one of another kind. */
const variants = (body: unknown): Array<unknown> => {
  const out: Array<unknown> = []
  const walk = (node: unknown, rebuild: (value: unknown | typeof drop) => unknown) => {
    for (const r of replacements) out.push(rebuild(r))
    out.push(rebuild(drop))
    if (Array.isArray(node)) {
      node.forEach((child, i) =>
        walk(
          child,
          (value) =>
            rebuild(value === drop ? node.filter((_, j) => j !== i) : node.map((c, j) => (j === i ? value : c)))
        )
      )
    } else if (typeof node === "object" && node !== null) {
      for (const key of Object.keys(node)) {
        walk((node as Record<string, unknown>)[key], (value) => {
          const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) }
          if (value === drop) delete copy[key]
          else copy[key] = value
          return rebuild(copy)
        })
      }
    }
  }
  walk(body, (value) => (value === drop ? undefined : value))
  return out
}
const drop = Symbol("drop")

/** The Schema path alone, as `decodeWire` was before the fast path. */
const schemaOnly = (schema: Schema.Schema.AnyNoContext, what: string) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve" })
  return (context: ModelError.Context, body: unknown) =>
    Either.mapLeft(decode(body), (error) =>
      new ModelError.Decode({
        ...context,
        detail: `${what}: ${scrub(ParseResult.TreeFormatter.formatErrorSync(error))}`
      }))
}

const context: ModelError.Context = { backend: "gemini-api", model: "m" }
const all = inputs()

describe("decodeWire: the fast path and the Schema agree", () => {
  it("every recorded body and event the Schema takes also takes the fast path, to the same value", () => {
    let fastOnes = 0
    for (const input of all) {
      const check = guard(input.schema)!
      const fast = decodeWire(input.schema, input.what)(context, input.body)
      const slow = schemaOnly(input.schema, input.what)(context, input.body)
      expect(fast, input.name).toEqual(slow)
      // an error line (Ollama's `{"error": …}`) is no response: both reject it alike
      expect(check(input.body), input.name).toBe(Either.isRight(slow))
      if (check(input.body)) fastOnes++
    }
    expect(fastOnes).toBeGreaterThan(40)
  })

  it("variants (a field dropped or of another type): the fast path takes only what the Schema decodes to itself", () => {
    let accepted = 0
    const rejected: Array<readonly [Input, unknown]> = []
    for (const input of all) {
      const check = guard(input.schema)!
      const decode = Schema.decodeUnknownEither(input.schema, { onExcessProperty: "preserve" })
      for (const variant of variants(input.body)) {
        if (check(variant)) {
          // never more lenient than the Schema, and the value handed on is the Schema's
          expect(decode(variant), input.name).toEqual(Either.right(variant))
          accepted++
        } else rejected.push([input, variant])
      }
    }
    expect(accepted).toBeGreaterThan(5_000)
    expect(rejected.length).toBeGreaterThan(5_000)
    // what the fast path rejects goes to the Schema: the same Decode message (a sample:
    // a failed Schema decode formats the schema it expected, up to ~15 ms per body)
    const step = Math.ceil(rejected.length / 150)
    let compared = 0
    for (let i = 0; i < rejected.length; i += step) {
      const [input, variant] = rejected[i]!
      const fast = decodeWire(input.schema, input.what)(context, variant)
      const slow = schemaOnly(input.schema, input.what)(context, variant)
      expect(fast, input.name).toEqual(slow)
      compared++
    }
    expect(compared).toBeGreaterThan(100)
  })

  it("a schema with a transformation gets no fast path (its decoded value is not its input)", () => {
    expect(guard(Schema.Struct({ n: Schema.NumberFromString }))).toBeUndefined()
    expect(guard(Schema.Struct({ n: Schema.Int }))).toBeUndefined()
    expect(guard(Schema.Struct({ n: Schema.Number }))).toBeDefined()
  })
})

/** The hand-written checks of the common stream events, with the schema each stands in front of. */
const eventChecks: ReadonlyArray<readonly [string, (u: unknown) => boolean, Schema.Schema.AnyNoContext]> = [
  ["Gemini isCommonEvent", Gemini.isCommonEvent, Gemini.GenerateContentResponse],
  ["Ollama isCommonLine", Ollama.isCommonLine, Ollama.ChatResponse],
  ["OpenAI isCommonChunk", OpenAI.isCommonChunk, OpenAI.ChatCompletionChunk]
]

describe.each(eventChecks)("%s: the stream fast path is never more lenient than the Schema", (_, check, schema) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve" })
  const events = all.filter((input) => input.schema === schema)

  it("takes only events the Schema decodes to themselves, recorded ones and every variant of them", () => {
    let accepted = 0
    let variantsSeen = 0
    for (const input of events) {
      for (const body of [input.body, ...variants(input.body)]) {
        variantsSeen++
        if (check(body)) {
          expect(decode(body), input.name).toEqual(Either.right(body))
          accepted++
        }
      }
    }
    expect(variantsSeen).toBeGreaterThan(200)
    expect(accepted).toBeGreaterThan(20)
  })

  it("takes the recorded text events (else it would never be the fast one)", () => {
    expect(events.filter((input) => check(input.body)).length).toBeGreaterThan(2)
  })
})

/** The object literals a schema's AST allows at `ast` (through unions, `null`/`undefined`, refinements). */
const literalsOf = (ast: AST.AST): Array<AST.TypeLiteral> => {
  switch (ast._tag) {
    case "TypeLiteral":
      return [ast]
    case "Union":
      return ast.types.flatMap(literalsOf)
    case "Refinement":
      return literalsOf(ast.from)
    case "Suspend":
      return literalsOf(ast.f())
    default:
      return []
  }
}

/** What `ast` allows at `path` ("" the value, `.key` a field, `[]` an array's element). */
const at = (ast: AST.AST, path: string): Array<AST.AST> => {
  const step = /^(?:\.?([A-Za-z_]+)|\[\])/.exec(path)
  if (step === null) return [ast]
  const rest = path.slice(step[0].length)
  const next = (node: AST.AST): Array<AST.AST> => {
    if (node._tag === "Union") return node.types.flatMap(next)
    if (node._tag === "Refinement") return next(node.from)
    if (step[1] === undefined) return node._tag === "TupleType" ? node.rest.map((element) => element.type) : []
    return literalsOf(node).flatMap((literal) =>
      literal.propertySignatures.filter((signature) => signature.name === step[1]).map((signature) => signature.type)
    )
  }
  return next(ast).flatMap((node) => at(node, rest))
}

/** The field names the schema knows at `path`. */
const fieldsAt = (schema: Schema.Schema.AnyNoContext, path: string): Array<string> =>
  [...new Set(at(schema.ast, path).flatMap(literalsOf).flatMap((l) => l.propertySignatures.map((s) => String(s.name))))]
    .sort()

/** `value` with every object and array in it wrapped, each key read recorded under its path. */
const recording = (value: unknown, path: string, reads: Map<string, Set<string>>): unknown => {
  if (typeof value !== "object" || value === null) return value
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver)
      if (typeof key !== "string") return child
      if (Array.isArray(target)) return /^\d+$/.test(key) ? recording(child, `${path}[]`, reads) : child
      const seen = reads.get(path) ?? new Set<string>()
      reads.set(path, seen.add(key))
      return recording(child, `${path}.${key}`, reads)
    }
  })
}

/** Each check with a common event holding every level it checks, and those levels' paths. */
const coverage: ReadonlyArray<readonly [string, (u: unknown) => boolean, Schema.Schema.AnyNoContext, unknown]> = [
  ["Gemini isCommonEvent", Gemini.isCommonEvent, Gemini.GenerateContentResponse, {
    candidates: [{ content: { parts: [{ text: "x" }], role: "model" }, index: 0 }],
    usageMetadata: { promptTokenCount: 1 },
    modelVersion: "m",
    responseId: "r"
  }],
  ["Ollama isCommonLine", Ollama.isCommonLine, Ollama.ChatResponse, {
    model: "m",
    message: { role: "assistant", content: "x" },
    done: false
  }],
  ["OpenAI isCommonChunk", OpenAI.isCommonChunk, OpenAI.ChatCompletionChunk, {
    id: "i",
    model: "m",
    choices: [{ index: 0, delta: { content: "x" }, finish_reason: null }]
  }]
]

describe.each(coverage)("%s reads every field its Schema knows", (_, check, schema, event) => {
  it("at every level of a common event, the fields read cover the Schema's (a field added to the Schema must be checked)", () => {
    const reads = new Map<string, Set<string>>()
    expect(check(recording(event, "", reads))).toBe(true)
    expect(reads.size).toBeGreaterThan(1)
    for (const [path, keys] of reads) {
      const known = fieldsAt(schema, path)
      expect(known.length, path).toBeGreaterThan(0)
      expect(known.filter((key) => !keys.has(key)), path).toEqual([])
    }
  })
})

/** Every field name a schema knows, at every level (the names a check may read). */
const allFieldNames = (ast: AST.AST, seen = new Set<AST.AST>(), out = new Set<string>()): Set<string> => {
  if (seen.has(ast)) return out
  seen.add(ast)
  switch (ast._tag) {
    case "TypeLiteral":
      for (const signature of ast.propertySignatures) {
        out.add(String(signature.name))
        allFieldNames(signature.type, seen, out)
      }
      for (const index of ast.indexSignatures) allFieldNames(index.type, seen, out)
      break
    case "Union":
      for (const type of ast.types) allFieldNames(type, seen, out)
      break
    case "TupleType":
      for (const element of [...ast.elements, ...ast.rest]) allFieldNames(element.type, seen, out)
      break
    case "Refinement":
      allFieldNames(ast.from, seen, out)
      break
    case "Suspend":
      allFieldNames(ast.f(), seen, out)
      break
    case "Transformation":
      allFieldNames(ast.from, seen, out)
      allFieldNames(ast.to, seen, out)
      break
  }
  return out
}

/** Every recorded event of `schema` and every variant of it, as `JSON.parse` gives them to the decoders. */
const jsonEvents = (schema: Schema.Schema.AnyNoContext): Array<unknown> =>
  all.filter((input) => input.schema === schema).flatMap((input) => [input.body, ...variants(input.body)]).map((
    body
  ) => JSON.parse(JSON.stringify(body) ?? "null"))

/** The check's verdicts on `events`, inside `withPlainPrototype` (refused on a polluted prototype) or not. */
const verdicts = (check: (u: unknown) => boolean, events: ReadonlyArray<unknown>, plain: boolean) =>
  plain ? withPlainPrototype(() => events.map(check), (names) => names) : events.map(check)

describe.each(eventChecks)("%s inside withPlainPrototype (the stream decoders' reads)", (_, check, schema) => {
  const events = jsonEvents(schema)

  it("gives the verdict the Object.hasOwn checks give, on every recorded event and variant", () => {
    const outside = verdicts(check, events, false)
    expect(outside.filter(Boolean).length).toBeGreaterThan(20)
    expect(verdicts(check, events, true)).toEqual(outside)
  })

  // A polluted Object.prototype gives every JSON object an inherited value under the
  // polluted name: a check that took it as the object's own would pass a field the
  // Schema never sees. Each name the Schema knows, polluted with a value of each kind.
  const names = [...allFieldNames(schema.ast)].sort()
  const values: ReadonlyArray<unknown> = ["polluted", 7, true, [{ text: "polluted" }]]
  // every recorded event and every 4th variant (the pollutions multiply the events by ~300)
  const sample = events.filter((_, i) => i % 4 === 0)
  it(`with Object.prototype polluted under each of the ${names.length} field names the Schema knows: no check runs inside withPlainPrototype (the decode is refused with the name), and outside none of the Object.hasOwn checks passes an event the Schema does not decode`, () => {
    const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve" })
    const outside = verdicts(check, sample, false)
    expect(names.length).toBeGreaterThan(5)
    expect(outside.filter(Boolean).length).toBeGreaterThan(5)
    const mismatches: Array<string> = []
    const lenient: Array<string> = []
    for (const name of names) {
      for (const value of values) {
        // only the checks and the Schema run while the prototype is polluted; the
        // assertions run after it is restored
        Object.defineProperty(Object.prototype, name, { value, configurable: true, writable: true })
        let inside: unknown
        let taken: Array<boolean>
        try {
          inside = verdicts(check, sample, true)
          const hasOwn = sample.map(check)
          taken = sample.map((event, i) => !hasOwn[i] || Either.isRight(decode(event)))
        } finally {
          delete (Object.prototype as Record<string, unknown>)[name]
        }
        const label = `${name} = ${JSON.stringify(value)}`
        if (JSON.stringify(inside) !== JSON.stringify([`Object.prototype.${name}`])) mismatches.push(label)
        if (taken.some((ok) => !ok)) lenient.push(label)
      }
    }
    expect(mismatches).toEqual([])
    expect(lenient).toEqual([])
    // nothing left behind: the clean verdicts again
    expect(verdicts(check, sample, true)).toEqual(outside)
  })
})
