/**
 * An Ollama server for tests, as a node `RequestListener`: `/api/chat` and
 * `/api/generate` (NDJSON streaming by default, `stream: false` for one body),
 * `/api/tags`, tools, `format` (`"json"` or a JSON Schema), `think` (the model's
 * `thinking` before its answer, streamed first), and Ollama's own error
 * bodies (`{"error": "..."}`), including the error line it sends mid-stream with HTTP
 * 200. Deploy it behind the Cloud Run front door to prove the ID-token path.
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import {
  chunk,
  controls,
  countTokens,
  exampleOf,
  FaultQueue,
  headersOf,
  isJson,
  type Json,
  json,
  jsons,
  pickTool,
  promptPairs,
  readBody,
  type RecordedRequest,
  replyTo,
  sendJson,
  thoughtAbout,
  triggers,
  truncateWords,
  withImages
} from "./internal/common.js"
import { type EmbedOptions, ollamaEmbedRoute } from "./internal/embeddings.js"

/**
 * An injected failure: status and Ollama's `{"error"}` message; `midStream` sends a
 * 200 stream that breaks after two chunks with the error line instead.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Fault {
  readonly status: number
  readonly error?: string
  readonly midStream?: boolean
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface OllamaEmulatorOptions {
  /** Pulled models; default `["gemma3:4b", "gemma3:27b"]`. A name without a tag means `:latest`. */
  readonly models?: ReadonlyArray<string>
  /** Clock for `created_at`; default `Date.now`. */
  readonly now?: () => number
  /** `/api/embed`: a per-call input limit to enforce (models whose name has `embed`). */
  readonly embeddings?: EmbedOptions
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface OllamaEmulator {
  readonly handler: Http.RequestListener
  readonly fail: (fault: Fault, times?: number) => void
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly reset: () => void
}

const MID_STREAM_ERROR = "an error was encountered while running the model"

const normalizeName = (name: string) => name.includes(":") ? name : `${name}:latest`

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: OllamaEmulatorOptions = {}): OllamaEmulator => {
  const models = (options.models ?? ["gemma3:4b", "gemma3:27b"]).map(normalizeName)
  const now = options.now ?? Date.now
  const faults = new FaultQueue<Fault>()
  const requests: Array<RecordedRequest> = []
  const error = (res: Http.ServerResponse, status: number, message: string) => sendJson(res, status, { error: message })
  const embed = ollamaEmbedRoute({ faults, requests, chatModels: models, options: options.embeddings })

  const handler: Http.RequestListener = (req, res) => {
    if (embed(req, res)) return
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost")
      const path = url.pathname
      if (req.method === "GET" && path === "/") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
        return res.end("Ollama is running")
      }
      if (req.method === "GET" && path === "/api/tags") {
        requests.push({ method: "GET", path, headers: headersOf(req), body: undefined })
        return sendJson(res, 200, {
          models: models.map((name, i) => ({
            name,
            model: name,
            modified_at: "2025-07-01T12:00:00.000000000Z",
            size: 3338801804 + i,
            digest: `a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5${i}`,
            details: {
              parent_model: "",
              format: "gguf",
              family: "gemma3",
              families: ["gemma3"],
              parameter_size: name.includes("27b") ? "27.4B" : "4.3B",
              quantization_level: "Q4_K_M"
            }
          }))
        })
      }
      if (req.method !== "POST" || (path !== "/api/chat" && path !== "/api/generate")) {
        res.writeHead(404, { "content-type": "text/plain" })
        return res.end("404 page not found")
      }
      const text = await readBody(req)
      let body: Json
      try {
        const parsed: unknown = JSON.parse(text)
        if (!isJson(parsed)) throw new Error("not an object")
        body = parsed
      } catch {
        const first = text.trim()[0]
        return error(
          res,
          400,
          first === undefined
            ? "unexpected EOF"
            : first === "{"
            ? `invalid character '${text.trim()[1] ?? "}"}' looking for beginning of object key string`
            : `invalid character '${first}' looking for beginning of value`
        )
      }
      requests.push({ method: "POST", path, headers: headersOf(req), body })
      const fault = faults.take()
      const model = typeof body["model"] === "string" ? body["model"] : ""
      if (model === "") return error(res, 400, "model is required")
      if (!models.includes(normalizeName(model))) return error(res, 404, `model '${model}' not found`)
      const chat = path === "/api/chat"
      const messages: Array<Json> = chat ? jsons(body["messages"]) : [
        ...(typeof body["system"] === "string" ? [{ role: "system", content: body["system"] }] : []),
        { role: "user", content: body["prompt"] ?? "" }
      ]
      if (chat && !Array.isArray(body["messages"])) return error(res, 400, "messages is required")
      const last = messages[messages.length - 1]
      const prompt = withImages(
        typeof last?.["content"] === "string" ? last["content"] : "",
        Array.isArray(last?.["images"])
          ? (last["images"] as Array<unknown>).filter((i): i is string => typeof i === "string")
          : []
      )
      const trigger = triggers(prompt)
      const status = fault?.midStream === true ? undefined : fault?.status ?? trigger.errorStatus
      if (status !== undefined) return error(res, status, fault?.error ?? `emulated failure (${status})`)
      const stream = body["stream"] !== false
      const promptTokens = countTokens(
        messages.map((m) => typeof m["content"] === "string" ? m["content"] : "").join(" ")
      )
      const options_ = json(body["options"])

      // what the "model" answers
      let content = ""
      let toolCalls: Array<Json> = []
      let doneReason = "stop"
      if (last?.["role"] === "tool") {
        const results = messages.slice(messages.findLastIndex((m) => m["role"] !== "tool") + 1)
        content = results.map((m) => `${m["tool_name"] ?? "tool"} returned ${m["content"]}`).join("; ")
      } else {
        const tools = jsons(chat ? body["tools"] : undefined)
        const tool = pickTool(
          tools.map((t): Json & { name: string } => ({
            ...json(t["function"]),
            name: String(json(t["function"])["name"] ?? "")
          })),
          prompt,
          "auto"
        )
        if (tool !== undefined) {
          toolCalls = [{
            function: {
              name: tool.name,
              arguments: exampleOf(json(tool["parameters"] ?? { type: "object" }), promptPairs(prompt))
            }
          }]
        } else if (body["format"] !== undefined && body["format"] !== "") {
          const format = body["format"]
          content = JSON.stringify(
            format === "json" ? { response: replyTo(prompt) } : exampleOf(json(format), promptPairs(prompt))
          )
        } else {
          content = replyTo(prompt)
        }
        const max = typeof options_["num_predict"] === "number" ? options_["num_predict"] : undefined
        if (trigger.maxTokens || (max !== undefined && max >= 0 && countTokens(content) > max)) {
          content = truncateWords(content, trigger.maxTokens ? 3 : max!)
          doneReason = "length"
        }
      }
      // `think`: the model thinks first and says so in `thinking` (a level only adds to its length)
      const think = body["think"]
      const thinking = think === undefined || think === false
        ? ""
        : thoughtAbout(prompt, think === "high")
      const evalCount = countTokens(content) + toolCalls.length + countTokens(thinking)
      const stamp = () => new Date(now()).toISOString().replace("Z", "000Z")
      const final = {
        done_reason: doneReason,
        done: true,
        total_duration: 182242375,
        load_duration: 41295167,
        prompt_eval_count: promptTokens,
        prompt_eval_duration: 24573166,
        eval_count: evalCount,
        eval_duration: 115959084
      }
      const piece = (delta: string, extra: Json = {}): Json =>
        chat
          ? { model, created_at: stamp(), message: { role: "assistant", content: delta, ...extra }, done: false }
          : { model, created_at: stamp(), response: delta, ...extra, done: false }
      if (!stream) {
        const whole = piece(content, {
          ...(thinking === "" ? {} : { thinking }),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
        })
        return sendJson(res, 200, { ...whole, ...final, ...(chat ? {} : { context: [1, 2, 3] }) })
      }
      res.writeHead(200, { "content-type": "application/x-ndjson" })
      const lines: Array<Json> = []
      for (const delta of thinking === "" ? [] : chunk(thinking, 2)) lines.push(piece("", { thinking: delta }))
      if (toolCalls.length > 0) lines.push(piece("", { tool_calls: toolCalls }))
      else for (const delta of chunk(content)) lines.push(piece(delta))
      if (fault?.midStream === true || trigger.midstreamError) {
        for (const line of lines.slice(0, 2)) res.write(JSON.stringify(line) + "\n")
        res.end(JSON.stringify({ error: fault?.error ?? MID_STREAM_ERROR }) + "\n")
        return
      }
      for (const line of lines) res.write(JSON.stringify(line) + "\n")
      res.end(JSON.stringify({ ...piece(""), ...final }) + "\n")
    })().catch((e) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(e) })
      else res.destroy()
    })
  }

  return controls(handler, faults, requests)
}
