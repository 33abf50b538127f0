/**
 * A vLLM OpenAI-compatible server for tests, as a node `RequestListener`:
 * `/v1/chat/completions` (one body, or SSE ending in `data: [DONE]`), tool calls
 * (`chatcmpl-tool-` ids, arguments as JSON strings, streamed in fragments),
 * `response_format` (`json_schema` / `json_object`), reasoning (`reasoning_effort`,
 * `thinking_token_budget`, `include_reasoning`, `chat_template_kwargs.enable_thinking`:
 * `reasoning_content` or `reasoning`, and `reasoning_tokens` in usage), `/v1/models`, and vLLM's error
 * bodies (flat `{"object": "error", ...}` by default, or the nested
 * `{"error": {...}}` shape). With `apiKey` set it checks `Authorization: Bearer` like
 * `vllm serve --api-key` (so a Cloud Run ID token must travel in
 * `X-Serverless-Authorization`).
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
  hexId,
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
import { type EmbedOptions, openAIEmbeddingsRoute } from "./internal/embeddings.js"

/**
 * An injected failure. `midStream` sends a 200 SSE stream that carries an error event
 * after two chunks.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Fault {
  readonly status: number
  readonly message?: string
  readonly retryAfterSeconds?: number
  readonly midStream?: boolean
}

/** The base64 bytes of `image_url` data URLs (remote URLs are not fetched). */
const messageImages = (message: Json | undefined): Array<string> => {
  const content = message?.["content"]
  if (!Array.isArray(content)) return []
  return jsons(content).flatMap((p) => {
    const url = p["type"] === "image_url" ? json(p["image_url"])["url"] : undefined
    const match = typeof url === "string" ? /^data:[^;,]+;base64,(.*)$/.exec(url) : null
    return match === null ? [] : [match[1]!]
  })
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface OpenAICompatibleEmulatorOptions {
  /** Served model names; default `["google/gemma-3-4b-it"]`. */
  readonly models?: ReadonlyArray<string>
  /** `vllm serve --api-key`: require `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string
  /** Error body shape; default `"flat"`. */
  readonly errorShape?: "flat" | "nested"
  /** Clock for `created`; default `Date.now`. */
  readonly now?: () => number
  /**
   * The field a reasoning model's thinking comes back in: `reasoning_content` (default;
   * vLLM before 0.10) or `reasoning` (its newer name).
   */
  readonly reasoningField?: "reasoning_content" | "reasoning"
  /** `/v1/embeddings`: a per-call input limit to enforce (models whose name has `embed`). */
  readonly embeddings?: EmbedOptions
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface OpenAICompatibleEmulator {
  readonly handler: Http.RequestListener
  readonly fail: (fault: Fault, times?: number) => void
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly reset: () => void
}

const errorTypes: Record<number, string> = {
  400: "BadRequestError",
  401: "AuthenticationError",
  404: "NotFoundError",
  429: "RateLimitError",
  500: "InternalServerError",
  503: "ServiceUnavailableError"
}

const messageText = (message: Json | undefined): string => {
  const content = message?.["content"]
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return jsons(content).flatMap((p) => p["type"] === "text" && typeof p["text"] === "string" ? [p["text"]] : []).join(
      ""
    )
  }
  return ""
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: OpenAICompatibleEmulatorOptions = {}): OpenAICompatibleEmulator => {
  const models = options.models ?? ["google/gemma-3-4b-it"]
  const now = options.now ?? Date.now
  const faults = new FaultQueue<Fault>()
  const requests: Array<RecordedRequest> = []
  let counter = 0

  const errorBody = (status: number, message: string) => {
    const inner = { message, type: errorTypes[status] ?? "InternalServerError", param: null, code: status }
    return options.errorShape === "nested" ? { error: inner } : { object: "error", ...inner }
  }
  const error = (res: Http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    sendJson(res, status, errorBody(status, message), headers, "application/json")

  const embeddings = openAIEmbeddingsRoute({ faults, requests, chatModels: models, error, options: options.embeddings })

  const handler: Http.RequestListener = (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost")
      const path = url.pathname
      if (options.apiKey !== undefined && path.startsWith("/v1")) {
        if (req.headers["authorization"] !== `Bearer ${options.apiKey}`) {
          return sendJson(res, 401, { error: "Unauthorized" }, {}, "application/json")
        }
      }
      if (embeddings(req, res)) return
      if (req.method === "GET" && path === "/health") {
        res.writeHead(200)
        return res.end()
      }
      if (req.method === "GET" && path === "/v1/models") {
        requests.push({ method: "GET", path, headers: headersOf(req), body: undefined })
        const created = Math.floor(now() / 1000)
        return sendJson(
          res,
          200,
          {
            object: "list",
            data: models.map((id) => ({
              id,
              object: "model",
              created,
              owned_by: "vllm",
              root: id,
              parent: null,
              max_model_len: 8192,
              permission: [{
                id: hexId("modelperm-", created, 32),
                object: "model_permission",
                created,
                allow_create_engine: false,
                allow_sampling: true,
                allow_logprobs: true,
                allow_search_indices: false,
                allow_view: true,
                allow_fine_tuning: false,
                organization: "*",
                group: null,
                is_blocking: false
              }]
            }))
          },
          {},
          "application/json"
        )
      }
      if (req.method !== "POST" || path !== "/v1/chat/completions") {
        return sendJson(res, 404, { detail: "Not Found" }, {}, "application/json")
      }
      const text = await readBody(req)
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (e) {
        return error(res, 400, `JSON decode error: ${e instanceof Error ? e.message : String(e)}`)
      }
      requests.push({ method: "POST", path, headers: headersOf(req), body: parsed })
      const body = json(parsed)
      const fault = faults.take()
      if (fault !== undefined && fault.midStream !== true) {
        return error(
          res,
          fault.status,
          fault.message ?? `emulated failure (${fault.status})`,
          fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) }
        )
      }
      const model = body["model"]
      if (typeof model !== "string" || !models.includes(model)) {
        return error(res, 404, `The model \`${String(model)}\` does not exist.`)
      }
      const messages = jsons(body["messages"])
      if (messages.length === 0) {
        return error(res, 400, "messages: List should have at least 1 item after validation, not 0")
      }
      const last = messages[messages.length - 1]
      const prompt = withImages(messageText(last), messageImages(last))
      const trigger = triggers(prompt)
      if (trigger.errorStatus !== undefined) {
        return error(res, trigger.errorStatus, `emulated failure (${trigger.errorStatus})`)
      }
      const promptTokens = countTokens(messages.map(messageText).join(" "))
      counter++
      const id = hexId("chatcmpl-", counter, 16)
      const created = Math.floor(now() / 1000)

      let content = ""
      let toolCalls: Array<{
        readonly id: string
        readonly type: "function"
        readonly function: { readonly name: string; readonly arguments: string }
      }> = []
      let finish = "stop"
      if (last?.["role"] === "tool") {
        const results = messages.slice(messages.findLastIndex((m) => m["role"] !== "tool") + 1)
        content = results.map((m) => `${m["tool_call_id"]} returned ${messageText(m)}`).join("; ")
      } else {
        const tools = jsons(body["tools"]).map((t): Json & { name: string } => ({
          ...json(t["function"]),
          name: String(json(t["function"])["name"] ?? "")
        }))
        const choice = body["tool_choice"]
        const mode = choice === "required" || typeof choice === "object"
          ? "required"
          : choice === "none"
          ? "none"
          : "auto"
        const allowed = typeof choice === "object" && choice !== null
          ? [String(json(json(choice)["function"])["name"])]
          : undefined
        const tool = pickTool(tools, prompt, mode, allowed)
        if (tool !== undefined) {
          toolCalls = [{
            id: hexId("chatcmpl-tool-", counter, 32),
            type: "function",
            function: {
              name: tool.name,
              arguments: JSON.stringify(exampleOf(json(tool["parameters"] ?? { type: "object" }), promptPairs(prompt)))
            }
          }]
          finish = "tool_calls"
        } else {
          const format = json(body["response_format"])
          content = format?.["type"] === "json_schema"
            ? JSON.stringify(exampleOf(json(json(format["json_schema"])["schema"]), promptPairs(prompt)))
            : format?.["type"] === "json_object"
            ? JSON.stringify({ response: replyTo(prompt) })
            : replyTo(prompt)
          const max = typeof body["max_tokens"] === "number"
            ? body["max_tokens"]
            : typeof body["max_completion_tokens"] === "number"
            ? body["max_completion_tokens"]
            : undefined
          if (trigger.maxTokens || (max !== undefined && countTokens(content) > max)) {
            content = truncateWords(content, trigger.maxTokens ? 3 : max!)
            finish = "length"
          }
        }
      }
      // a reasoning request (`reasoning_effort`, `thinking_token_budget`, or Qwen-style
      // `chat_template_kwargs.enable_thinking`) thinks first; `include_reasoning: false`
      // keeps the thinking out of the answer but not out of the usage
      const kwargs = json(body["chat_template_kwargs"])
      const reasons = body["reasoning_effort"] !== undefined || typeof body["thinking_token_budget"] === "number" ||
        kwargs["enable_thinking"] === true
      const budget = typeof body["thinking_token_budget"] === "number" ? body["thinking_token_budget"] : undefined
      const fullReasoning = reasons ? thoughtAbout(prompt, body["reasoning_effort"] === "high") : ""
      const reasoning = budget === undefined ? fullReasoning : truncateWords(fullReasoning, budget)
      const reasoningTokens = countTokens(reasoning)
      const shown = body["include_reasoning"] === false ? "" : reasoning
      const reasoningField = options.reasoningField ?? "reasoning_content"
      const completionTokens = countTokens(content) + toolCalls.length * 8 + reasoningTokens
      const usage = {
        prompt_tokens: promptTokens,
        total_tokens: promptTokens + completionTokens,
        completion_tokens: completionTokens,
        prompt_tokens_details: null,
        ...(reasons ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {})
      }
      if (body["stream"] !== true) {
        return sendJson(
          res,
          200,
          {
            id,
            object: "chat.completion",
            created,
            model,
            choices: [{
              index: 0,
              message: {
                role: "assistant",
                content: toolCalls.length > 0 ? null : content,
                refusal: null,
                annotations: null,
                audio: null,
                function_call: null,
                tool_calls: toolCalls,
                reasoning_content: null,
                ...(shown === "" ? {} : { [reasoningField]: shown })
              },
              logprobs: null,
              finish_reason: finish,
              stop_reason: null
            }],
            service_tier: null,
            system_fingerprint: null,
            usage,
            prompt_logprobs: null,
            kv_transfer_params: null
          },
          {},
          "application/json"
        )
      }
      const includeUsage = json(body["stream_options"])["include_usage"] === true
      const event = (delta: Json, finishReason: string | null = null) => ({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{
          index: 0,
          delta,
          logprobs: null,
          finish_reason: finishReason,
          ...(finishReason === null ? {} : { stop_reason: null })
        }]
      })
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" })
      const send = (payload: Json) => res.write(`data: ${JSON.stringify(payload)}\n\n`)
      send(event({ role: "assistant", content: "" }))
      const deltas: Array<Json> = []
      for (const piece of shown === "" ? [] : chunk(shown, 2)) deltas.push({ [reasoningField]: piece })
      for (const [index, call] of toolCalls.entries()) {
        const args = call.function.arguments
        const half = Math.ceil(args.length / 2)
        deltas.push({
          tool_calls: [{
            id: call.id,
            type: "function",
            index,
            function: { name: call.function.name, arguments: "" }
          }]
        })
        deltas.push({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] })
        deltas.push({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] })
      }
      if (toolCalls.length === 0) { for (const piece of chunk(content)) deltas.push({ content: piece }) }
      if (fault?.midStream === true || trigger.midstreamError) {
        for (const delta of deltas.slice(0, 2)) send(event(delta))
        send(errorBody(fault?.status ?? 500, fault?.message ?? "The engine died unexpectedly."))
        res.end("data: [DONE]\n\n")
        return
      }
      for (const delta of deltas) send(event(delta))
      send(event({ content: "" }, finish))
      if (includeUsage) send({ id, object: "chat.completion.chunk", created, model, choices: [], usage })
      res.end("data: [DONE]\n\n")
    })().catch((e) => {
      if (!res.headersSent) error(res, 500, String(e))
      else res.destroy()
    })
  }

  return controls(handler, faults, requests)
}
