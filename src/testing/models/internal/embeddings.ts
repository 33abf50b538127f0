/**
 * The embedding endpoints of the model emulators, kept out of the generate paths:
 * Gemini `batchEmbedContents` / `embedContent` (Gemini API) and `predict` /
 * `embedContent` (Vertex AI), Ollama `/api/embed`, OpenAI-compatible `/v1/embeddings`.
 * Each enforces the per-call limits of the real API (Gemini API 100 requests per
 * batch; Vertex `predict` 250 instances, 1 for `gemini-embedding-001`, and 20,000
 * input tokens; Vertex `embedContent` one content) with the server's own error bodies,
 * records every request, and answers with deterministic vectors: a hashed bag of
 * words, unit length, so texts sharing words are close (cosine) and a RAG example
 * ranks sensibly. Prompt triggers in any input: `[[error:503]]` fails every time,
 * `[[once:429]]` fails the first request that carries that text (`[[once:429:3s]]` asks
 * for a 3-second delay: RetryInfo on Gemini, `Retry-After` on vLLM; retries succeed: the
 * recorded request log is the memory, so `reset()` forgets it too).
 * Shares nothing with `src/model`.
 *
 * @internal
 */
import type * as Http from "node:http"
import type * as GeminiEmulator from "../GeminiEmulator.js"
import { type FaultQueue, headersOf, isJson, type Json, json, jsons, readBody, sendJson, str } from "./common.js"

// -----------------------------------------------------------------------------
// Deterministic vectors
// -----------------------------------------------------------------------------

const fnv1a = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** A small seeded PRNG (mulberry32) in [-1, 1). */
const random = (seed: number) => {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1
  }
}

/**
 * The emulated embedding of a text: the sum of one pseudo-random vector per word
 * (lower-cased letters and digits), normalised to unit length, rounded to 6 decimals.
 *
 * @internal
 */
export const vectorOf = (text: string, dimensions: number): Array<number> => {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text]
  const sum = new Array<number>(dimensions).fill(0)
  for (const word of words) {
    const next = random(fnv1a(word))
    for (let i = 0; i < dimensions; i++) sum[i]! += next()
  }
  const norm = Math.sqrt(sum.reduce((acc, x) => acc + x * x, 0)) || 1
  return sum.map((x) => Math.round((x / norm) * 1e6) / 1e6)
}

/** The emulators' token estimate for embeddings: four characters a token. @internal */
export const embeddingTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))

/** The dimensionality a model returns by default. */
const defaultDimensions = (model: string): number =>
  /gemini-embedding/.test(model) ? 3072 : /minilm/.test(model) ? 384 : 768

/** A failure a trigger asked for: the status and, for `[[once:429:3s]]`, the delay the server asks for. */
interface Triggered {
  readonly status: number
  readonly delaySeconds: number | undefined
}

/** The failure the triggers in these texts ask for, if any. */
const triggered = (
  texts: ReadonlyArray<string>,
  earlier: ReadonlyArray<{ readonly body: unknown }>
): Triggered | undefined => {
  for (const text of texts) {
    const always = /\[\[error:(\d{3})\]\]/.exec(text)?.[1]
    if (always !== undefined) return { status: Number(always), delaySeconds: undefined }
    const once = /\[\[once:(\d{3})(?::(\d+)s)?\]\]/.exec(text)
    if (once !== null) {
      const quoted = JSON.stringify(text)
      if (!earlier.some((r) => JSON.stringify(r.body).includes(quoted))) {
        return { status: Number(once[1]), delaySeconds: once[2] === undefined ? undefined : Number(once[2]) }
      }
    }
  }
  return undefined
}

const parse = (
  text: string
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string } => {
  try {
    return { ok: true, value: text === "" ? {} : JSON.parse(text) }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

// -----------------------------------------------------------------------------
// Gemini API and Vertex AI
// -----------------------------------------------------------------------------

/** What the Gemini emulator lends its embedding routes. @internal */
export interface GeminiContext {
  readonly authorize: GeminiEmulator.Authorize
  readonly faults: FaultQueue<GeminiEmulator.Fault>
  readonly requests: Array<GeminiEmulator.GeminiRequest>
  /** Google's error body for a fault or a triggered status, with its headers (RetryInfo, Retry-After). */
  readonly faultBody: (fault: GeminiEmulator.Fault) => { body: string; headers: Record<string, string> }
  /** Google's JSON error body (`googleErrorBody`). */
  readonly errorBody: (code: number, message?: string) => string
  /** Which models exist; default: names containing `embedding`. */
  readonly models?: ((model: string) => boolean) | undefined
}

const geminiRoute =
  /^\/(v1|v1beta|v1alpha|v1beta1)\/(?:projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/)?models\/([^/:]+):(batchEmbedContents|embedContent|predict)$/

const GOOGLE_JSON = "application/json; charset=UTF-8"

/** Vertex sends `embedContent` to Gemini embedding models other than gemini-embedding-001 (and `maas`). */
const vertexEmbedContentModel = (model: string) =>
  (model.includes("gemini") && model !== "gemini-embedding-001") || model.includes("maas")

const partsText = (content: unknown): string => jsons(json(content)["parts"]).map((p) => str(p["text"])).join("")

/**
 * The Gemini embedding routes: handles the request and returns true when the path is
 * one of them (a POST), else returns false and leaves it to the generate routes.
 *
 * @internal
 */
export const geminiEmbeddingRoutes =
  (ctx: GeminiContext) => (req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
    const url = new URL(req.url ?? "/", "http://localhost")
    const match = req.method === "POST" ? geminiRoute.exec(url.pathname) : null
    if (match === null) return false
    const version = match[1]!
    const project = match[2]
    const location = match[3]
    const model = match[4]!
    const method = match[5]!
    const flavor = project === undefined ? "api" : "vertex"
    const exists = ctx.models ?? ((name: string) => name.includes("embedding"))
    const fail = (status: number, message: string) =>
      sendJson(res, status, ctx.errorBody(status, message), {}, GOOGLE_JSON)
    void (async () => {
      const auth = await ctx.authorize(req)
      const parsed = parse(await readBody(req))
      if (!parsed.ok) return fail(400, `Invalid JSON payload received. ${parsed.error}`)
      const seen = ctx.requests.length
      ctx.requests.push({
        method,
        path: url.pathname + url.search,
        headers: headersOf(req),
        body: parsed.value,
        flavor,
        model,
        principal: auth.ok ? auth.principal : undefined
      })
      if (!auth.ok) return sendJson(res, auth.status, auth.body, auth.headers ?? {}, GOOGLE_JSON)
      const fault = ctx.faults.take()
      if (fault !== undefined) {
        const { body, headers } = ctx.faultBody(fault)
        return sendJson(res, fault.status, body, headers, GOOGLE_JSON)
      }
      if ((flavor === "api" && method === "predict") || (flavor === "vertex" && method === "batchEmbedContents")) {
        return fail(404, "Method not found.")
      }
      if (!exists(model)) {
        return fail(
          404,
          flavor === "api"
            ? `models/${model} is not found for API version ${version}, or is not supported for ${method}. ` +
              `Call ListModels to see the list of available models and their supported methods.`
            : `Publisher Model \`projects/${project}/locations/${location}/publishers/google/models/${model}\` ` +
              `was not found or your project does not have access to it. Please ensure you are using a valid model ` +
              `version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`
        )
      }
      const body = json(parsed.value)
      const earlier = ctx.requests.slice(0, seen)
      const maxDimensions = defaultDimensions(model)
      const dimensionsOf = (value: unknown): number | string => {
        if (value === undefined) return maxDimensions
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > maxDimensions) {
          return `output_dimensionality must be between 1 and ${maxDimensions}, got ${JSON.stringify(value)}.`
        }
        return value
      }
      const triggerFail = (texts: ReadonlyArray<string>): boolean => {
        const failure = triggered(texts, earlier)
        if (failure === undefined) return false
        const { body: errorBody, headers } = ctx.faultBody({
          status: failure.status,
          ...(failure.delaySeconds === undefined ? {} : { retryDelay: `${failure.delaySeconds}s` })
        })
        sendJson(res, failure.status, errorBody, headers, GOOGLE_JSON)
        return true
      }

      if (flavor === "api" && method === "batchEmbedContents") {
        const requests = jsons(body["requests"])
        if (requests.length === 0) return fail(400, "* BatchEmbedContentsRequest.requests: requests is required\n")
        if (requests.length > 100) {
          return fail(400, "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n")
        }
        const wrong = requests.findIndex((r) => r["model"] !== `models/${model}`)
        if (wrong >= 0) {
          return fail(
            400,
            `* BatchEmbedContentsRequest.requests[${wrong}].model: the model of each request must be the batch's ` +
              `model (models/${model}), got ${JSON.stringify(requests[wrong]!["model"] ?? null)}\n`
          )
        }
        const texts = requests.map((r) => partsText(r["content"]))
        if (triggerFail(texts)) return
        const vectors: Array<Json> = []
        for (const r of requests) {
          const dimensions = dimensionsOf(r["outputDimensionality"])
          if (typeof dimensions === "string") return fail(400, dimensions)
          vectors.push({ values: vectorOf(partsText(r["content"]), dimensions) })
        }
        return sendJson(res, 200, { embeddings: vectors })
      }

      if (method === "embedContent") {
        const config = flavor === "vertex" ? json(body["embedContentConfig"]) : body
        const text = partsText(body["content"])
        if (flavor === "vertex" && !vertexEmbedContentModel(model)) {
          return fail(400, `Model ${model} does not support embedContent; use predict.`)
        }
        if (triggerFail([text])) return
        const dimensions = dimensionsOf(config["outputDimensionality"])
        if (typeof dimensions === "string") return fail(400, dimensions)
        const tokens = embeddingTokens(text)
        return sendJson(
          res,
          200,
          flavor === "vertex"
            ? {
              embedding: { values: vectorOf(text, dimensions) },
              usageMetadata: {
                promptTokenCount: tokens,
                totalTokenCount: tokens,
                promptTokensDetails: [{ modality: "TEXT", tokenCount: tokens }]
              },
              truncated: false
            }
            : { embedding: { values: vectorOf(text, dimensions) } }
        )
      }

      // Vertex predict
      const instances = jsons(body["instances"])
      const maxInstances = model === "gemini-embedding-001" ? 1 : 250
      if (instances.length === 0) return fail(400, "instances must not be empty.")
      if (instances.length > maxInstances) {
        return fail(400, `${maxInstances} instance(s) is allowed per prediction. Actual: ${instances.length}`)
      }
      const texts = instances.map((i) => str(i["content"]))
      const tokens = texts.reduce((acc, text) => acc + embeddingTokens(text), 0)
      if (tokens > 20_000) {
        return fail(
          400,
          `Unable to submit request because the input token count is ${tokens} but the model supports up to 20000. ` +
            `Reduce the input token count and try again.`
        )
      }
      if (triggerFail(texts)) return
      const dimensions = dimensionsOf(json(body["parameters"])["outputDimensionality"])
      if (typeof dimensions === "string") return fail(400, dimensions)
      return sendJson(res, 200, {
        predictions: texts.map((text) => ({
          embeddings: {
            statistics: { truncated: false, token_count: embeddingTokens(text) },
            values: vectorOf(text, dimensions)
          }
        })),
        metadata: { billableCharacterCount: texts.reduce((acc, text) => acc + text.replace(/\s/g, "").length, 0) }
      })
    })().catch((error) => {
      if (!res.headersSent) fail(500, String(error))
      else res.destroy()
    })
    return true
  }

// -----------------------------------------------------------------------------
// Ollama and OpenAI-compatible
// -----------------------------------------------------------------------------

/**
 * Options of the embedding route of the Ollama and OpenAI-compatible emulators.
 *
 * @internal
 */
export interface EmbedOptions {
  /** Refuse calls with more inputs than this (a server or proxy limit); default none. */
  readonly maxInputs?: number | undefined
  /**
   * The embedding models served. Default: Ollama `embeddinggemma`, `nomic-embed-text`,
   * `all-minilm` (any tag); vLLM `google/embeddinggemma-300m`.
   */
  readonly models?: ReadonlyArray<string> | undefined
}

const inputsOf = (input: unknown): Array<string> | undefined =>
  typeof input === "string"
    ? [input]
    : Array.isArray(input) && input.every((i): i is string => typeof i === "string")
    ? input
    : undefined

const ollamaEmbeddingModels = ["embeddinggemma", "nomic-embed-text", "all-minilm"]
const vllmEmbeddingModels = ["google/embeddinggemma-300m"]

/** What the Ollama emulator lends its embed route. @internal */
export interface OllamaContext<F extends { readonly status: number; readonly error?: string }> {
  readonly faults: FaultQueue<F>
  readonly requests: Array<
    {
      readonly method: string
      readonly path: string
      readonly headers: Readonly<Record<string, string>>
      readonly body: unknown
    }
  >
  /** The pulled chat models (normalised `name:tag`). */
  readonly chatModels: ReadonlyArray<string>
  readonly options?: EmbedOptions | undefined
}

/**
 * Ollama's `/api/embed`: true when it handled the request.
 *
 * @internal
 */
export const ollamaEmbedRoute = <F extends { readonly status: number; readonly error?: string }>(
  ctx: OllamaContext<F>
) =>
(req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname
  if (req.method !== "POST" || path !== "/api/embed") return false
  const error = (status: number, message: string) => sendJson(res, status, { error: message })
  void (async () => {
    const text = await readBody(req)
    const parsed = parse(text)
    if (!parsed.ok || !isJson(parsed.value)) {
      const first = text.trim()[0]
      return error(
        400,
        first === undefined ? "unexpected EOF" : `invalid character '${first}' looking for beginning of value`
      )
    }
    const body: Json = parsed.value
    const seen = ctx.requests.length
    ctx.requests.push({ method: "POST", path, headers: headersOf(req), body })
    const fault = ctx.faults.take()
    if (fault !== undefined) return error(fault.status, fault.error ?? `emulated failure (${fault.status})`)
    const model = str(body["model"])
    if (model === "") return error(400, "model is required")
    const name = model.includes(":") ? model : `${model}:latest`
    const served = ctx.options?.models ?? ollamaEmbeddingModels
    if (!served.some((m) => m === model || m === name || m === name.replace(/:.*$/, ""))) {
      return ctx.chatModels.includes(name)
        ? error(400, `"${model}" does not support embeddings`)
        : error(404, `model '${model}' not found`)
    }
    const inputs = inputsOf(body["input"] ?? [])
    if (inputs === undefined) return error(400, "invalid input type")
    const max = ctx.options?.maxInputs
    if (max !== undefined && inputs.length > max) {
      return error(400, `too many inputs: ${inputs.length} (this server takes at most ${max} per request)`)
    }
    const failure = triggered(inputs, ctx.requests.slice(0, seen))
    if (failure !== undefined) return error(failure.status, `emulated failure (${failure.status})`)
    const dimensions = body["dimensions"] === undefined ? defaultDimensions(model) : body["dimensions"]
    if (
      typeof dimensions !== "number" || !Number.isInteger(dimensions) || dimensions < 1 ||
      dimensions > defaultDimensions(model)
    ) {
      return error(400, `dimensions must be between 1 and ${defaultDimensions(model)}`)
    }
    return sendJson(res, 200, {
      model,
      embeddings: inputs.map((input) => vectorOf(input, dimensions)),
      total_duration: 14143917,
      load_duration: 1019500,
      prompt_eval_count: inputs.reduce((acc, input) => acc + embeddingTokens(input), 0)
    })
  })().catch((e) => {
    if (!res.headersSent) error(500, String(e))
    else res.destroy()
  })
  return true
}

/** What the OpenAI-compatible emulator lends its embeddings route. @internal */
export interface OpenAIContext<
  F extends { readonly status: number; readonly message?: string; readonly retryAfterSeconds?: number }
> {
  readonly faults: FaultQueue<F>
  readonly requests: Array<
    {
      readonly method: string
      readonly path: string
      readonly headers: Readonly<Record<string, string>>
      readonly body: unknown
    }
  >
  /** The served chat models. */
  readonly chatModels: ReadonlyArray<string>
  readonly error: (res: Http.ServerResponse, status: number, message: string, headers?: Record<string, string>) => void
  readonly options?: EmbedOptions | undefined
}

/**
 * vLLM's `/v1/embeddings`: true when it handled the request.
 *
 * @internal
 */
export const openAIEmbeddingsRoute = <
  F extends { readonly status: number; readonly message?: string; readonly retryAfterSeconds?: number }
>(ctx: OpenAIContext<F>) =>
(req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname
  if (req.method !== "POST" || path !== "/v1/embeddings") return false
  void (async () => {
    const parsed = parse(await readBody(req))
    if (!parsed.ok) return ctx.error(res, 400, `JSON decode error: ${parsed.error}`)
    const seen = ctx.requests.length
    ctx.requests.push({ method: "POST", path, headers: headersOf(req), body: parsed.value })
    const body = json(parsed.value)
    const fault = ctx.faults.take()
    if (fault !== undefined) {
      return ctx.error(
        res,
        fault.status,
        fault.message ?? `emulated failure (${fault.status})`,
        fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) }
      )
    }
    const model = str(body["model"])
    if (!(ctx.options?.models ?? vllmEmbeddingModels).includes(model)) {
      return ctx.chatModels.includes(model)
        ? ctx.error(res, 400, "The model does not support Embeddings API")
        : ctx.error(res, 404, `The model \`${model}\` does not exist.`)
    }
    const inputs = inputsOf(body["input"])
    if (inputs === undefined || inputs.length === 0) {
      return ctx.error(res, 400, "input must be a string or a non-empty list of strings")
    }
    const max = ctx.options?.maxInputs
    if (max !== undefined && inputs.length > max) {
      return ctx.error(res, 400, `too many inputs: ${inputs.length} (this server takes at most ${max} per request)`)
    }
    const failure = triggered(inputs, ctx.requests.slice(0, seen))
    if (failure !== undefined) {
      return ctx.error(
        res,
        failure.status,
        `emulated failure (${failure.status})`,
        failure.delaySeconds === undefined ? {} : { "retry-after": String(failure.delaySeconds) }
      )
    }
    const dimensions = body["dimensions"] === undefined ? defaultDimensions(model) : body["dimensions"]
    if (
      typeof dimensions !== "number" || !Number.isInteger(dimensions) || dimensions < 1 ||
      dimensions > defaultDimensions(model)
    ) {
      return ctx.error(res, 400, `dimensions must be between 1 and ${defaultDimensions(model)}`)
    }
    const tokens = inputs.reduce((acc, input) => acc + embeddingTokens(input), 0)
    return sendJson(
      res,
      200,
      {
        id: `embd-${tokens.toString(16).padStart(8, "0")}`,
        object: "list",
        created: 1751328000,
        model,
        data: inputs.map((input, index) => ({ index, object: "embedding", embedding: vectorOf(input, dimensions) })),
        usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null }
      },
      {},
      "application/json"
    )
  })().catch((e) => {
    if (!res.headersSent) ctx.error(res, 500, String(e))
    else res.destroy()
  })
  return true
}
