/**
 * Vertex AI's OpenAI-compatible Chat Completions for tests, as a node `RequestListener`:
 * `POST /{v1|v1beta1}/projects/{p}/locations/{l}/endpoints/{id}/chat/completions` (the
 * shared `openapi` endpoint and a Model Garden endpoint ID alike, on whatever host
 * serves it: the regional one, a dedicated `*.prediction.vertexai.goog` name, a Private
 * Service Connect address). Every request passes `authorize` first (Google's access
 * token check: a missing, unknown or expired token gets Google's 401 body); the chat
 * completion itself is answered by an OpenAI-compatible emulator. `route(next)` puts
 * these paths in front of another handler (the Gemini emulator's host serves both).
 *
 * @since 0.2.0
 */
import type * as Http from "node:http"
import * as GeminiEmulator from "./GeminiEmulator.js"
import { headersOf, sendJson } from "./internal/common.js"
import * as OpenAICompatibleEmulator from "./OpenAICompatibleEmulator.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface VertexOpenAIEmulatorOptions {
  /** Default: {@link GeminiEmulator.rejectApiKeys} (any bearer token). */
  readonly authorize?: GeminiEmulator.Authorize
  /** Served model names; default `google/gemini-2.5-flash` and `google/gemma-3-12b-it`. */
  readonly models?: ReadonlyArray<string>
}

/**
 * One request that reached the Vertex path: where, and who asked (`principal` is
 * `undefined` when `authorize` refused it).
 *
 * @since 0.2.0
 * @category Models
 */
export interface VertexOpenAIRequest {
  /** The path as received (with its query). */
  readonly path: string
  /** The `Host` header: which name the client connected to. */
  readonly host: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly project: string
  readonly location: string
  readonly endpoint: string
  readonly principal: string | undefined
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface VertexOpenAIEmulator {
  readonly handler: Http.RequestListener
  /** The Vertex paths here, everything else to `next`. */
  readonly route: (next: Http.RequestListener) => Http.RequestListener
  /** Every request that reached a Vertex OpenAI path, in order. */
  readonly requests: ReadonlyArray<VertexOpenAIRequest>
  /** The emulator answering the chat completions (request bodies, `fail`). */
  readonly chat: OpenAICompatibleEmulator.OpenAICompatibleEmulator
  readonly reset: () => void
}

const path = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/endpoints\/([^/]+)\/chat\/completions$/

/**
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: VertexOpenAIEmulatorOptions = {}): VertexOpenAIEmulator => {
  const authorize = options.authorize ?? GeminiEmulator.rejectApiKeys
  const chat = OpenAICompatibleEmulator.make({
    models: options.models ?? ["google/gemini-2.5-flash", "google/gemma-3-12b-it"],
    errorShape: "nested"
  })
  const requests: Array<VertexOpenAIRequest> = []
  const matchOf = (req: Http.IncomingMessage) => path.exec(new URL(req.url ?? "/", "http://localhost").pathname)

  const handler: Http.RequestListener = (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost")
      const match = matchOf(req)
      if (req.method !== "POST" || match === null) {
        return sendJson(
          res,
          404,
          GeminiEmulator.googleErrorBody(404, "Method not found."),
          {},
          "application/json; charset=UTF-8"
        )
      }
      const auth = await authorize(req)
      requests.push({
        path: url.pathname + url.search,
        host: req.headers.host,
        headers: headersOf(req),
        project: decodeURIComponent(match[2]!),
        location: decodeURIComponent(match[3]!),
        endpoint: decodeURIComponent(match[4]!),
        principal: auth.ok ? auth.principal : undefined
      })
      if (!auth.ok) {
        req.resume()
        return sendJson(res, auth.status, auth.body, auth.headers ?? {}, "application/json; charset=UTF-8")
      }
      req.url = `/v1/chat/completions${url.search}`
      chat.handler(req, res)
    })().catch((error) => {
      if (!res.headersSent) sendJson(res, 500, GeminiEmulator.googleErrorBody(500, String(error)))
      else res.destroy()
    })
  }

  return {
    handler,
    route: (next) => (req, res) => (matchOf(req) === null ? next(req, res) : handler(req, res)),
    requests,
    chat,
    reset: () => {
      requests.length = 0
      chat.reset()
    }
  }
}
