/**
 * What the model emulators share: body reading, JSON answers, the deterministic
 * "model" (replies derived from the prompt, tool calls, JSON from a schema), token
 * counting and chunking. Shares nothing with `src/model`.
 *
 * @internal
 */
import type * as Http from "node:http"

/** @internal */
export const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/** @internal */
export const sendJson = (
  res: Http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
  contentType = "application/json; charset=utf-8"
): void => {
  const text = typeof body === "string" ? body : JSON.stringify(body)
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** A JSON object as a request body carries it: every value is read as `unknown` and narrowed. @internal */
export type Json = Record<string, unknown>

/** Whether a parsed JSON value is an object (not an array, not null). @internal */
export const isJson = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A parsed JSON value as an object: itself when it is one, else an empty object. @internal */
export const json = (u: unknown): Json => isJson(u) ? u : {}

/** The objects of a parsed JSON array (none when it is not an array). @internal */
export const jsons = (u: unknown): Array<Json> => Array.isArray(u) ? u.filter(isJson) : []

/** A parsed JSON value as a string, or `fallback`. @internal */
export const str = (u: unknown, fallback = ""): string => typeof u === "string" ? u : fallback

/** A recorded request, for assertions. Header values of `authorization`-like headers are kept (test tokens only). @internal */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

/** @internal */
export const headersOf = (req: Http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/** Whitespace-separated words: the emulators' "tokens". @internal */
export const countTokens = (text: string): number => text.split(/\s+/).filter((w) => w !== "").length

/**
 * Split a reply into `n` roughly equal pieces on word boundaries, so that the pieces
 * concatenate to the reply exactly.
 *
 * @internal
 */
export const chunk = (text: string, n = 3): Array<string> => {
  const words = text.match(/\S+\s*/g) ?? [text]
  if (words.length <= 1) return [text]
  const size = Math.ceil(words.length / Math.min(n, words.length))
  const out: Array<string> = []
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(""))
  const lead = /^\s*/.exec(text)?.[0] ?? ""
  if (lead !== "" && out[0] !== undefined) out[0] = lead + out[0]
  return out
}

/** `key=value` pairs written in the prompt become tool arguments. @internal */
export const promptPairs = (prompt: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const match of prompt.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) {
    out[match[1]!] = match[2]!.replace(/^"|"$/g, "")
  }
  return out
}

type JsonSchema = { readonly [key: string]: unknown }

const typeOf = (schema: JsonSchema): string | undefined => {
  const type = schema["type"]
  if (typeof type === "string") return type.toLowerCase()
  if (Array.isArray(type)) return (type.find((t) => t !== "null") as string | undefined)?.toLowerCase()
  if (schema["properties"] !== undefined) return "object"
  return undefined
}

/**
 * A deterministic instance of a JSON Schema (and of Gemini's OpenAPI-style
 * `responseSchema`, with upper-case types). `pairs` from the prompt fill string,
 * number and boolean properties of the top-level object.
 *
 * @internal
 */
export const exampleOf = (
  schema: JsonSchema,
  pairs: Readonly<Record<string, string>> = {},
  defs: JsonSchema = (schema["$defs"] ?? schema["definitions"] ?? {}) as JsonSchema,
  depth = 0
): unknown => {
  if (depth > 8) return null
  const ref = schema["$ref"]
  if (typeof ref === "string") {
    const name = ref.split("/").pop() ?? ""
    const target = defs[name]
    return typeof target === "object" && target !== null
      ? exampleOf(target as JsonSchema, pairs, defs, depth + 1)
      : null
  }
  const choice = (schema["anyOf"] ?? schema["oneOf"]) as ReadonlyArray<JsonSchema> | undefined
  if (Array.isArray(choice) && choice.length > 0) {
    const nonNull = choice.find((c) => typeOf(c) !== "null") ?? choice[0]!
    return exampleOf(nonNull, pairs, defs, depth + 1)
  }
  if ("const" in schema) return schema["const"]
  const enumValues = schema["enum"]
  if (Array.isArray(enumValues) && enumValues.length > 0) return enumValues[0]
  switch (typeOf(schema)) {
    case "object": {
      const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema>
      const out: Record<string, unknown> = {}
      for (const [key, property] of Object.entries(properties)) {
        const given = depth === 0 ? pairs[key] : undefined
        const type = typeOf(property)
        out[key] = given === undefined
          ? exampleOf(property, {}, defs, depth + 1)
          : type === "number" || type === "integer"
          ? Number(given)
          : type === "boolean"
          ? given === "true"
          : given
      }
      return out
    }
    case "array": {
      const items = schema["items"]
      const min = typeof schema["minItems"] === "number" ? schema["minItems"] : 1
      const item = typeof items === "object" && items !== null
        ? exampleOf(items as JsonSchema, {}, defs, depth + 1)
        : "item"
      return Array.from({ length: Math.max(1, min) }, () => item)
    }
    case "string": {
      const format = schema["format"]
      if (format === "date-time") return "2024-01-01T00:00:00Z"
      if (format === "date") return "2024-01-01"
      const min = typeof schema["minLength"] === "number" ? schema["minLength"] : 0
      return "example".padEnd(min, "x")
    }
    case "integer":
      return typeof schema["minimum"] === "number" ? Math.ceil(schema["minimum"]) : 1
    case "number":
      return typeof schema["minimum"] === "number" ? schema["minimum"] : 1.5
    case "boolean":
      return true
    case "null":
      return null
    default:
      return null
  }
}

/** What the prompt asks the emulated model to do. @internal */
export interface Triggers {
  readonly safety: boolean
  readonly maxTokens: boolean
  readonly midstreamError: boolean
  readonly errorStatus: number | undefined
}

/**
 * Prompt triggers: `[[safety]]`, `[[max_tokens]]`, `[[midstream_error]]`,
 * `[[error:503]]`.
 *
 * @internal
 */
export const triggers = (prompt: string): Triggers => {
  const status = /\[\[error:(\d{3})\]\]/.exec(prompt)?.[1]
  return {
    safety: prompt.includes("[[safety]]"),
    maxTokens: prompt.includes("[[max_tokens]]"),
    midstreamError: prompt.includes("[[midstream_error]]"),
    errorStatus: status === undefined ? undefined : Number(status)
  }
}

/** A prompt without its triggers. @internal */
export const promptText = (prompt: string): string => prompt.replace(/\[\[[a-z_:0-9]+\]\]/g, "").trim()

/** The deterministic answer to a prompt. @internal */
export const replyTo = (prompt: string): string => `Echo: ${promptText(prompt)}`

/** What a thinking model "thinks" before it answers a prompt (`in depth` at a high level). @internal */
export const thoughtAbout = (prompt: string, high = false): string =>
  `Thinking about: ${promptText(prompt)}${high ? " in depth" : ""}`

/**
 * How the emulated model "sees" inline image bytes: `[image/png 68 bytes]`, the type
 * sniffed from the bytes themselves (Ollama sends no MIME type), so a reply proves the
 * bytes arrived intact. Appended to the prompt. @internal
 */
export const describeImage = (base64: string): string => {
  const bytes = Buffer.from(base64, "base64")
  const type = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    ? "image/png"
    : bytes[0] === 0xff && bytes[1] === 0xd8
    ? "image/jpeg"
    : "application/octet-stream"
  return `[${type} ${bytes.length} bytes]`
}

/** A prompt with its images described after the text. @internal */
export const withImages = (prompt: string, images: ReadonlyArray<string>): string =>
  [prompt, ...images.map(describeImage)].filter((piece) => piece !== "").join(" ")

/** Truncate to `n` words (MAX_TOKENS). @internal */
export const truncateWords = (text: string, n: number): string =>
  (text.match(/\S+\s*/g) ?? []).slice(0, n).join("").trimEnd()

/** Pick the tool to call: the one the prompt names, or the first when a call is required. @internal */
export const pickTool = <T extends { readonly name: string }>(
  tools: ReadonlyArray<T>,
  prompt: string,
  mode: "auto" | "required" | "none",
  allowed?: ReadonlyArray<string>
): T | undefined => {
  if (mode === "none") return undefined
  const candidates = allowed === undefined || allowed.length === 0
    ? tools
    : tools.filter((tool) => allowed.includes(tool.name))
  const named = candidates.find((tool) => new RegExp(`\\b${tool.name.replace(/[^A-Za-z0-9_]/g, "")}\\b`).test(prompt))
  return named ?? (mode === "required" ? candidates[0] : undefined)
}

/** A queue of injected failures, consumed one per request. @internal */
export class FaultQueue<F> {
  private readonly queue: Array<F> = []
  push(fault: F, times = 1): void {
    for (let i = 0; i < times; i++) this.queue.push(fault)
  }
  take(): F | undefined {
    return this.queue.shift()
  }
  clear(): void {
    this.queue.length = 0
  }
  get size(): number {
    return this.queue.length
  }
}

/** A deterministic hex id from a counter. @internal */
export const hexId = (prefix: string, n: number, length = 32): string =>
  prefix + (n.toString(16).padStart(8, "0") + "a1b2c3d4e5f60718293a4b5c6d7e8f90").slice(0, length)

/**
 * What every model emulator hands back: its handler, failure injection, the recorded
 * requests and a reset of both. @internal
 */
export const controls = <F, Req>(
  handler: Http.RequestListener,
  faults: FaultQueue<F>,
  requests: Array<Req>
) => ({
  handler,
  fail: (fault: F, times?: number) => faults.push(fault, times),
  requests: requests as ReadonlyArray<Req>,
  reset: () => {
    faults.clear()
    requests.length = 0
  }
})
