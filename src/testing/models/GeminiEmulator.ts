/**
 * A Gemini server for tests: the Generative Language API paths
 * (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
 * `:countTokens`) and the Vertex AI paths
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:...`, also
 * `v1beta1`), as a node `RequestListener`. Replies are derived from the prompt;
 * declared tools are called when the prompt names them or a call is required; a
 * `responseSchema` / `responseJsonSchema` gets matching JSON; the request surface is
 * answered in kind (thought summaries and thought tokens for `thinkingConfig`, Google
 * Search grounding metadata, URL context statuses, a code run for `codeExecution`, a
 * PNG for `responseModalities: IMAGE`, the service tier and cached tokens in usage,
 * `safetySettings` that let a `[[safety]]` prompt through); prompt triggers and a
 * fault queue produce Google's own error bodies. Every request passes `authorize`
 * first: by default API keys are rejected with Google's real bodies and any bearer
 * token is accepted; the identity emulator plugs its access-token check in here.
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
  type Json,
  json,
  jsons,
  pickTool,
  promptPairs,
  promptText,
  readBody,
  type RecordedRequest,
  replyTo,
  sendJson,
  thoughtAbout,
  triggers,
  truncateWords,
  withImages
} from "./internal/common.js"
import { geminiEmbeddingRoutes } from "./internal/embeddings.js"

/**
 * The answer of an `authorize` callback: the principal the request acts as, or the
 * response to send instead.
 *
 * @since 0.1.0
 * @category Models
 */
export type AuthorizeResult =
  | { readonly ok: true; readonly principal: string }
  | {
    readonly ok: false
    readonly status: number
    readonly body: string
    readonly headers?: Readonly<Record<string, string>>
  }

/**
 * @since 0.1.0
 * @category Models
 */
export type Authorize = (request: Http.IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>

/**
 * An injected failure for the next request(s). `retryDelay` adds Google's
 * `RetryInfo` (e.g. `"26s"`), `retryAfterSeconds` a `Retry-After` header.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Fault {
  readonly status: number
  readonly message?: string
  readonly retryDelay?: string
  readonly retryAfterSeconds?: number
  /**
   * On `streamGenerateContent`: answer 200 and send Google's error body as an SSE event
   * after the first chunk (as Google does when a stream breaks). Other methods fail as usual.
   */
  readonly midStream?: boolean
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface GeminiEmulatorOptions {
  /** Default: {@link rejectApiKeys}. */
  readonly authorize?: Authorize
  /** Models that exist; default: every name starting with `gemini` or `gemma`. */
  readonly models?: (model: string) => boolean
  /** Clock for `createTime`; default `Date.now`. */
  readonly now?: () => number
}

/**
 * One handled request: what was asked and who asked.
 *
 * @since 0.1.0
 * @category Models
 */
export interface GeminiRequest extends RecordedRequest {
  readonly flavor: "api" | "vertex"
  readonly model: string
  readonly method: string
  readonly principal: string | undefined
  /** When it arrived (the emulator's clock, `now`). */
  readonly at?: number | undefined
}

/**
 * A request quota over fixed windows (the first starts when it is set), like Gemini's
 * requests-per-minute: past `requests` in a window, model requests get Google's 429
 * `RESOURCE_EXHAUSTED` with a `QuotaFailure` and a `RetryInfo` whose `retryDelay` is
 * the time left in the window. Scale `windowMs` down to test in seconds.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Quota {
  readonly requests: number
  readonly windowMs: number
}

/**
 * What the quota decided for one request: when it arrived, whether it was admitted,
 * the retry delay a 429 announced, and the request's headers (to tell callers apart).
 *
 * @since 0.2.0
 * @category Models
 */
export interface QuotaEvent {
  readonly at: number
  readonly admitted: boolean
  readonly retryDelayMs?: number | undefined
  readonly headers: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface GeminiEmulator {
  readonly handler: Http.RequestListener
  /** Fail the next `times` (default 1) model requests with `fault`. */
  readonly fail: (fault: Fault, times?: number) => void
  /** Every request that reached a model route, in order. */
  readonly requests: ReadonlyArray<GeminiRequest>
  /** Sets (or with `undefined` removes) the request quota; its windows start now. */
  readonly setQuota: (quota: Quota | undefined) => void
  /** The quota's decisions, in order of arrival. */
  readonly quotaLog: ReadonlyArray<QuotaEvent>
  /** Clears faults, the request log, the quota and its log. */
  readonly reset: () => void
}

// -----------------------------------------------------------------------------
// Google's error bodies
// -----------------------------------------------------------------------------

const statusNames: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "NOT_IMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED"
}

const defaultMessages: Record<number, string> = {
  400: "Request contains an invalid argument.",
  401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other " +
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
  403: "The caller does not have permission",
  429: "You exceeded your current quota, please check your plan and billing details. For more information on this " +
    "error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
  500: "An internal error has occurred. Please retry or report in " +
    "https://developers.generativeai.google/guide/troubleshooting",
  503: "The model is overloaded. Please try again later.",
  504: "Deadline expired before operation could complete."
}

/**
 * Google's JSON error body (`{"error": {"code", "message", "status", "details"}}`),
 * pretty-printed as Google sends it.
 *
 * @since 0.1.0
 * @category Errors
 */
export const googleErrorBody = (
  code: number,
  message: string = defaultMessages[code] ?? "Unknown error.",
  details?: ReadonlyArray<Record<string, unknown>>
): string =>
  JSON.stringify(
    {
      error: {
        code,
        message,
        status: statusNames[code] ?? (code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION"),
        ...(details === undefined || details.length === 0 ? {} : { details })
      }
    },
    null,
    2
  ) + "\n"

/**
 * The 401 Google APIs send for a missing, malformed or expired access token (ErrorInfo
 * reason `CREDENTIALS_MISSING`, `ACCESS_TOKEN_EXPIRED` or
 * `ACCESS_TOKEN_TYPE_UNSUPPORTED`), with its `WWW-Authenticate` header.
 *
 * @since 0.1.0
 * @category Errors
 */
export const unauthenticated = (
  reason: "CREDENTIALS_MISSING" | "ACCESS_TOKEN_EXPIRED" | "ACCESS_TOKEN_TYPE_UNSUPPORTED",
  service = "generativelanguage.googleapis.com"
): Extract<AuthorizeResult, { ok: false }> => ({
  ok: false,
  status: 401,
  headers: {
    "www-authenticate": reason === "CREDENTIALS_MISSING"
      ? `Bearer realm="https://accounts.google.com/"`
      : `Bearer realm="https://accounts.google.com/", error="invalid_token"`
  },
  body: googleErrorBody(
    401,
    reason === "CREDENTIALS_MISSING"
      ? "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or " +
        "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
      : defaultMessages[401],
    [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "googleapis.com", metadata: { service } }]
  )
})

/**
 * The 403 for an access token without an acceptable scope.
 *
 * @since 0.1.0
 * @category Errors
 */
export const insufficientScope = (
  service = "generativelanguage.googleapis.com"
): Extract<AuthorizeResult, { ok: false }> => ({
  ok: false,
  status: 403,
  headers: {
    "www-authenticate": `Bearer realm="https://accounts.google.com/", error="insufficient_scope", ` +
      `scope="https://www.googleapis.com/auth/cloud-platform"`
  },
  body: googleErrorBody(403, "Request had insufficient authentication scopes.", [{
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    domain: "googleapis.com",
    metadata: { service }
  }])
})

const isVertexPath = (path: string) => path.includes("/projects/")

/**
 * The default `authorize`: an API key (`x-goog-api-key` or `?key=`) gets Google's real
 * answer (the Gemini API: 400 `API_KEY_INVALID`; Vertex: 401 "API keys are not
 * supported by this API"), no credentials a 401 `CREDENTIALS_MISSING`; any bearer
 * token is accepted as principal `bearer`.
 *
 * @since 0.1.0
 * @category Authorization
 */
export const rejectApiKeys: Authorize = (request) => {
  const url = new URL(request.url ?? "/", "http://localhost")
  const vertex = isVertexPath(url.pathname)
  const key = request.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? undefined
  if (key !== undefined) {
    return vertex
      ? {
        ok: false,
        status: 401,
        body: googleErrorBody(
          401,
          "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials " +
            "that assert a principal. See https://cloud.google.com/docs/authentication",
          [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "CREDENTIALS_MISSING",
            domain: "googleapis.com",
            metadata: {
              service: "aiplatform.googleapis.com",
              method: "google.cloud.aiplatform.v1beta1.PredictionService.GenerateContent"
            }
          }]
        )
      }
      : {
        ok: false,
        status: 400,
        body: googleErrorBody(400, "API key not valid. Please pass a valid API key.", [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "API_KEY_INVALID",
            domain: "googleapis.com",
            metadata: { service: "generativelanguage.googleapis.com" }
          },
          {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            locale: "en-US",
            message: "API key not valid. Please pass a valid API key."
          }
        ])
      }
  }
  const authorization = request.headers["authorization"]
  if (authorization === undefined || !/^Bearer \S+$/i.test(authorization)) {
    return unauthenticated(
      "CREDENTIALS_MISSING",
      vertex ? "aiplatform.googleapis.com" : "generativelanguage.googleapis.com"
    )
  }
  return { ok: true, principal: "bearer" }
}

const faultBody = (fault: Fault): { body: string; headers: Record<string, string> } => {
  const details: Array<Record<string, unknown>> = []
  if (fault.status === 429) {
    details.push(
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{
          quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
          quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
          quotaDimensions: { location: "global", model: "gemini-2.5-flash" },
          quotaValue: "10"
        }]
      },
      {
        "@type": "type.googleapis.com/google.rpc.Help",
        links: [{
          description: "Learn more about Gemini API quotas",
          url: "https://ai.google.dev/gemini-api/docs/rate-limits"
        }]
      }
    )
  }
  if (fault.retryDelay !== undefined) {
    details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: fault.retryDelay })
  }
  return {
    body: googleErrorBody(fault.status, fault.message, details),
    headers: fault.retryAfterSeconds === undefined ? {} : { "retry-after": String(fault.retryAfterSeconds) }
  }
}

// -----------------------------------------------------------------------------
// The emulated model
// -----------------------------------------------------------------------------

const route =
  /^\/(v1|v1beta|v1alpha|v1beta1)\/(?:projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/)?models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/

const textOf = (content: unknown): string =>
  jsons(json(content)["parts"]).flatMap((p) =>
    typeof p["text"] === "string" && p["thought"] !== true ? [p["text"]] : []
  ).join("")

const allText = (body: Json): string =>
  [textOf(body["systemInstruction"]), ...jsons(body["contents"]).map(textOf)].join(" ")

interface Plan {
  readonly parts: Array<Json>
  readonly finishReason: string
  readonly text: string
  /** Parts before the answer's text (thought summaries, code and its result). */
  readonly lead?: Array<Json>
  /** Parts after it (generated images). */
  readonly trail?: Array<Json>
  /** Candidate fields beside `content` (grounding, URL context). */
  readonly candidate?: Json
  /** Usage fields beside the token counts (thoughts, tool use, service tier). */
  readonly usage?: Json
}

/** A 1×1 PNG: what the emulated model "draws" when image output is asked for. */
const generatedImage =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

/** The blocking settings that let a `[[safety]]` prompt through: hate speech not blocked. */
const safetyOff = (body: Json): boolean =>
  jsons(body["safetySettings"]).some((setting) =>
    setting["category"] === "HARM_CATEGORY_HATE_SPEECH" &&
    (setting["threshold"] === "BLOCK_NONE" || setting["threshold"] === "OFF")
  )

/**
 * What the request's surface adds to a text answer: a thought summary
 * (`thinkingConfig.includeThoughts`; thoughts are counted whenever thinking is on), code
 * run with the code execution tool, Google Search grounding, URL context, a generated
 * image (`responseModalities` with `IMAGE`), the service tier and cached tokens in usage.
 */
const surface = (body: Json, prompt: string, text: string): Omit<Plan, "parts" | "finishReason" | "text"> => {
  const config = json(body["generationConfig"])
  const thinking = config["thinkingConfig"] === undefined ? undefined : json(config["thinkingConfig"])
  const tools = jsons(body["tools"])
  const has = (tool: string) => tools.some((t) => t[tool] !== undefined)
  const lead: Array<Json> = []
  const trail: Array<Json> = []
  const candidate: Json = {}
  const usage: Json = {}
  const thinks = thinking !== undefined && thinking["thinkingBudget"] !== 0
  if (thinks) {
    const thought = thoughtAbout(prompt)
    usage["thoughtsTokenCount"] = countTokens(thought) + (thinking["thinkingLevel"] === "HIGH" ? 8 : 0)
    if (thinking["includeThoughts"] === true) lead.push({ text: thought, thought: true })
  }
  if (has("codeExecution")) {
    lead.push(
      { executableCode: { language: "PYTHON", code: `print(${JSON.stringify(text)})` } },
      { codeExecutionResult: { outcome: "OUTCOME_OK", output: `${text}\n` } }
    )
    usage["toolUsePromptTokenCount"] = countTokens(text)
  }
  if (has("googleSearch")) {
    const query = promptText(prompt)
    candidate["groundingMetadata"] = {
      webSearchQueries: [query],
      searchEntryPoint: { renderedContent: `<div class="container">${query}</div>` },
      groundingChunks: [{
        web: {
          uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/ZW11bGF0b3I",
          title: "example.com",
          domain: "example.com"
        }
      }],
      groundingSupports: [{
        segment: { startIndex: 0, endIndex: Buffer.byteLength(text), text },
        groundingChunkIndices: [0],
        confidenceScores: [0.9]
      }]
    }
    usage["toolUsePromptTokenCount"] = (typeof usage["toolUsePromptTokenCount"] === "number"
      ? usage["toolUsePromptTokenCount"]
      : 0) + 12
  }
  if (has("urlContext")) {
    candidate["urlContextMetadata"] = {
      urlMetadata: [...prompt.matchAll(/https?:\/\/\S+/g)].map((m) => ({
        retrievedUrl: m[0],
        urlRetrievalStatus: "URL_RETRIEVAL_STATUS_SUCCESS"
      }))
    }
  }
  const modalities = config["responseModalities"]
  if (Array.isArray(modalities) && modalities.includes("IMAGE")) {
    trail.push({ inlineData: { mimeType: "image/png", data: generatedImage }, thoughtSignature: "ZW11bGF0b3ItaW1hZ2U" })
  }
  if (typeof body["serviceTier"] === "string") usage["serviceTier"] = body["serviceTier"]
  if (typeof body["cachedContent"] === "string") usage["cachedContentTokenCount"] = 1024
  return { lead, trail, candidate, usage }
}

const plan = (body: Json): Plan | "safety" => {
  const contents = jsons(body["contents"])
  const last = contents[contents.length - 1]
  const lastParts = jsons(last?.["parts"])
  const prompt = withImages(
    textOf(last),
    lastParts.flatMap((p) => {
      const data = json(p["inlineData"])["data"]
      return typeof data === "string" ? [data] : []
    })
  )
  const trigger = triggers(prompt)
  if (trigger.safety && !safetyOff(body)) return "safety"
  const responses = lastParts.flatMap((p) => p["functionResponse"] === undefined ? [] : [json(p["functionResponse"])])
  if (responses.length > 0) {
    const text = responses.map((r) => `${r["name"]} returned ${JSON.stringify(r["response"] ?? {})}`).join("; ")
    return { parts: [{ text }], finishReason: "STOP", text }
  }
  const declarations = jsons(body["tools"]).flatMap((t) => jsons(t["functionDeclarations"])).flatMap(
    (d): Array<Json & { name: string }> => {
      const name = d["name"]
      return typeof name === "string" ? [{ ...d, name }] : []
    }
  )
  const callingConfig = json(json(body["toolConfig"])["functionCallingConfig"])
  // VALIDATED: text or a call, as AUTO (the call is checked against its schema)
  const mode = callingConfig["mode"] === "ANY" ? "required" : callingConfig["mode"] === "NONE" ? "none" : "auto"
  const allowed = callingConfig["allowedFunctionNames"]
  const tool = pickTool(
    declarations,
    prompt,
    mode,
    Array.isArray(allowed) ? allowed.filter((name): name is string => typeof name === "string") : undefined
  )
  if (tool !== undefined) {
    const schema = json(tool["parametersJsonSchema"] ?? tool["parameters"] ?? { type: "object" })
    const args = exampleOf(schema, promptPairs(prompt))
    return {
      parts: [{ functionCall: { name: tool["name"], args }, thoughtSignature: "ZW11bGF0b3Itc2lnbmF0dXJl" }],
      finishReason: "STOP",
      text: ""
    }
  }
  const config = json(body["generationConfig"])
  const responseSchema = config["responseJsonSchema"] ?? config["responseSchema"]
  const schema = responseSchema === undefined ? undefined : json(responseSchema)
  let text = schema !== undefined
    ? JSON.stringify(exampleOf(schema, promptPairs(prompt)), null, 2)
    : replyTo(prompt)
  let finishReason = "STOP"
  const max = typeof config["maxOutputTokens"] === "number" ? config["maxOutputTokens"] : undefined
  if (trigger.maxTokens || (max !== undefined && countTokens(text) > max)) {
    text = truncateWords(text, trigger.maxTokens ? Math.min(max ?? 3, 3) : max!)
    finishReason = "MAX_TOKENS"
  }
  const extra = surface(body, prompt, text)
  return { parts: [...extra.lead ?? [], { text }, ...extra.trail ?? []], finishReason, text, ...extra }
}

const safetyRatings = [
  { category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", probability: "NEGLIGIBLE" },
  { category: "HARM_CATEGORY_HATE_SPEECH", probability: "HIGH" },
  { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
  { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "NEGLIGIBLE" }
]

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: GeminiEmulatorOptions = {}): GeminiEmulator => {
  const authorize = options.authorize ?? rejectApiKeys
  const exists = options.models ?? ((model: string) => /^(gemini|gemma)/.test(model))
  const now = options.now ?? Date.now
  const faults = new FaultQueue<Fault>()
  const requests: Array<GeminiRequest> = []
  const quotaLog: Array<QuotaEvent> = []
  let quota: (Quota & { readonly start: number; window: number; used: number }) | undefined
  let counter = 0
  // embeddings: batchEmbedContents, embedContent, predict (internal/embeddings.ts)
  const embeddings = geminiEmbeddingRoutes({
    authorize,
    faults,
    requests,
    faultBody,
    errorBody: googleErrorBody,
    models: options.models
  })

  /** The quota's answer for a model request arriving at `at`: undefined when admitted, else the retry delay. */
  const throttle = (at: number, headers: Record<string, string>): number | undefined => {
    if (quota === undefined) return undefined
    const window = Math.floor((at - quota.start) / quota.windowMs)
    if (window !== quota.window) {
      quota.window = window
      quota.used = 0
    }
    const admitted = quota.used < quota.requests
    if (admitted) quota.used += 1
    const retryDelayMs = admitted ? undefined : quota.start + (window + 1) * quota.windowMs - at
    quotaLog.push({ at, admitted, retryDelayMs, headers })
    return retryDelayMs
  }

  const handler: Http.RequestListener = (req, res) => {
    if (embeddings(req, res)) return
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost")
      const match = route.exec(url.pathname)
      if (req.method !== "POST" || match === null) {
        return sendJson(res, 404, googleErrorBody(404, `Method not found.`), {}, "application/json; charset=UTF-8")
      }
      const version = match[1]!
      const project = match[2]
      const location = match[3]
      const model = match[4]!
      const method = match[5]!
      const flavor = project === undefined ? "api" : "vertex"
      const at = now()
      const auth = await authorize(req)
      const text = await readBody(req)
      let parsed: unknown
      try {
        parsed = text === "" ? {} : JSON.parse(text)
      } catch (e) {
        return sendJson(
          res,
          400,
          googleErrorBody(400, `Invalid JSON payload received. ${e instanceof Error ? e.message : ""}`.trim()),
          {},
          "application/json; charset=UTF-8"
        )
      }
      requests.push({
        method,
        path: url.pathname + url.search,
        headers: headersOf(req),
        body: parsed,
        flavor,
        model,
        principal: auth.ok ? auth.principal : undefined,
        at
      })
      const body = json(parsed)
      if (!auth.ok) return sendJson(res, auth.status, auth.body, auth.headers ?? {}, "application/json; charset=UTF-8")
      const throttled = method === "countTokens" ? undefined : throttle(at, headersOf(req))
      if (throttled !== undefined) {
        const { body: errorBody, headers } = faultBody({ status: 429, retryDelay: `${(throttled / 1000).toFixed(3)}s` })
        return sendJson(res, 429, errorBody, headers, "application/json; charset=UTF-8")
      }
      const fault = faults.take()
      const midStream = fault?.midStream === true && method === "streamGenerateContent" ? fault : undefined
      if (fault !== undefined && midStream === undefined) {
        const { body: errorBody, headers } = faultBody(fault)
        return sendJson(res, fault.status, errorBody, headers, "application/json; charset=UTF-8")
      }
      if (!exists(model)) {
        const message = flavor === "api"
          ? `models/${model} is not found for API version ${version}, or is not supported for ${method}. ` +
            `Call ListModels to see the list of available models and their supported methods.`
          : `Publisher Model \`projects/${project}/locations/${location}/publishers/google/models/${model}\` ` +
            `was not found or your project does not have access to it. Please ensure you are using a valid model ` +
            `version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`
        return sendJson(res, 404, googleErrorBody(404, message), {}, "application/json; charset=UTF-8")
      }
      const status = triggers(textOf(jsons(body["contents"]).at(-1))).errorStatus
      if (status !== undefined) {
        const { body: errorBody, headers } = faultBody({ status })
        return sendJson(res, status, errorBody, headers, "application/json; charset=UTF-8")
      }
      const promptTokens = countTokens(allText(body))
      if (method === "countTokens") {
        return sendJson(res, 200, {
          totalTokens: promptTokens,
          ...(flavor === "vertex" ? { totalBillableCharacters: allText(body).replace(/\s/g, "").length } : {}),
          promptTokensDetails: [{ modality: "TEXT", tokenCount: promptTokens }]
        })
      }
      counter++
      const responseId = `ZW11bGF0b3I${counter.toString(36).padStart(4, "0")}`
      const envelope = {
        modelVersion: model,
        ...(flavor === "vertex" ? { createTime: new Date(now()).toISOString() } : {}),
        responseId
      }
      const outcome = plan(body)
      const stream = method === "streamGenerateContent"
      if (outcome === "safety") {
        const blocked = {
          promptFeedback: { blockReason: "SAFETY", safetyRatings },
          usageMetadata: { promptTokenCount: promptTokens, totalTokenCount: promptTokens },
          ...envelope
        }
        if (!stream) return sendJson(res, 200, blocked)
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify(blocked)}\r\n\r\n`)
        return
      }
      const outputTokens = countTokens(outcome.text) + (outcome.text === "" ? outcome.parts.length : 0)
      const extraTokens = (["thoughtsTokenCount", "toolUsePromptTokenCount"] as const).reduce((sum, key) => {
        const count = outcome.usage?.[key]
        return sum + (typeof count === "number" ? count : 0)
      }, 0)
      const usage = {
        promptTokenCount: promptTokens,
        candidatesTokenCount: outputTokens,
        totalTokenCount: promptTokens + outputTokens + extraTokens,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: promptTokens }],
        ...outcome.usage,
        ...(flavor === "vertex" ? { trafficType: "ON_DEMAND" } : {})
      }
      if (!stream) {
        return sendJson(res, 200, {
          candidates: [{
            content: { parts: outcome.parts, role: "model" },
            finishReason: outcome.finishReason,
            ...outcome.candidate,
            index: 0
          }],
          usageMetadata: usage,
          ...envelope
        })
      }
      if (url.searchParams.get("alt") !== "sse") {
        // without alt=sse Google streams a JSON array; we only speak SSE
        return sendJson(res, 400, googleErrorBody(400, "This emulator streams only with ?alt=sse."))
      }
      res.writeHead(200, { "content-type": "text/event-stream" })
      // the parts before the text in their own event, the text in pieces, the parts after it with the last piece
      const lead = outcome.lead ?? []
      const trail = outcome.trail ?? []
      const textPieces = chunk(outcome.text).map((piece): Array<Json> => [{ text: piece }])
      const pieces: Array<Array<Json>> = outcome.text === ""
        ? [outcome.parts]
        : [...(lead.length === 0 ? [] : [lead]), ...textPieces.slice(0, -1), [...textPieces.at(-1)!, ...trail]]
      pieces.forEach((parts, i) => {
        const last = i === pieces.length - 1
        const event = {
          candidates: [{
            content: { parts, role: "model" },
            ...(last ? { finishReason: outcome.finishReason, ...outcome.candidate } : {}),
            index: 0
          }],
          usageMetadata: last
            ? usage
            : flavor === "vertex"
            ? { trafficType: "ON_DEMAND" }
            : { promptTokenCount: promptTokens, totalTokenCount: promptTokens },
          ...envelope
        }
        if (midStream !== undefined && i > 0) return
        res.write(`data: ${JSON.stringify(event)}\r\n\r\n`)
      })
      if (midStream !== undefined) {
        // the error body on one line: a data line cannot hold a newline
        res.end(`data: ${JSON.stringify(JSON.parse(faultBody(midStream).body))}\r\n\r\n`)
        return
      }
      res.end()
    })().catch((error) => {
      if (!res.headersSent) sendJson(res, 500, googleErrorBody(500, String(error)))
      else res.destroy()
    })
  }

  const base = controls(handler, faults, requests)
  return {
    ...base,
    setQuota: (next) => {
      quota = next === undefined ? undefined : { ...next, start: now(), window: 0, used: 0 }
    },
    quotaLog,
    reset: () => {
      base.reset()
      quota = undefined
      quotaLog.length = 0
    }
  }
}

/**
 * An `authorize` that checks access tokens with a tokeninfo endpoint (the identity
 * emulator's `GET {googleApisUrl}/oauth2/v3/tokeninfo?access_token=…`): API keys and
 * missing credentials get {@link rejectApiKeys}' answers, an unknown or expired token a
 * 401 `invalid_token`, a token without one of `scopes` (default: cloud-platform and
 * generative-language) a 403 `ACCESS_TOKEN_SCOPE_INSUFFICIENT`. The principal is the
 * token's `email`.
 *
 * @since 0.1.0
 * @category Authorization
 */
export const authorizeWithTokenInfo = (
  tokenInfoUrl: string,
  options: { readonly scopes?: ReadonlyArray<string>; readonly fetch?: typeof globalThis.fetch } = {}
): Authorize => {
  const scopes = options.scopes ?? [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/generative-language",
    "https://www.googleapis.com/auth/generative-language.retriever"
  ]
  const fetch = options.fetch ?? globalThis.fetch
  return async (request) => {
    const basic = await rejectApiKeys(request)
    if (!basic.ok) return basic
    const vertex = isVertexPath(new URL(request.url ?? "/", "http://localhost").pathname)
    const service = vertex ? "aiplatform.googleapis.com" : "generativelanguage.googleapis.com"
    const token = (request.headers["authorization"] ?? "").replace(/^Bearer /i, "")
    const url = new URL(tokenInfoUrl)
    url.searchParams.set("access_token", token)
    const response = await fetch(url)
    if (response.status !== 200) return unauthenticated("ACCESS_TOKEN_TYPE_UNSUPPORTED", service)
    const info = (await response.json()) as { scope?: string; email?: string; azp?: string }
    const granted = (info.scope ?? "").split(" ")
    if (!granted.some((scope) => scopes.includes(scope))) return insufficientScope(service)
    return { ok: true, principal: info.email ?? info.azp ?? "unknown" }
  }
}
