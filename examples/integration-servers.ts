/**
 * Demo services for the integration examples, deployed behind the emulator's Cloud
 * Run front door in demo mode: a real MCP server (the SDK's McpServer over Streamable
 * HTTP), and tiny OpenAI-compatible (vLLM) and Ollama chat servers that speak each
 * wire format. Each answers with the caller the front door let through, read from the
 * forwarded ID token (Cloud Run strips its signature).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomUUID } from "node:crypto"
import type * as Http from "node:http"
import { z } from "zod"

/** The email in the ID token Cloud Run forwarded (`X-Serverless-Authorization`, else `Authorization`). */
export const callerOf = (headers: Http.IncomingHttpHeaders): string => {
  const header = headers["x-serverless-authorization"] ?? headers["authorization"]
  const payload = typeof header === "string" ? header.replace(/^Bearer\s+/i, "").split(".")[1] : undefined
  if (payload === undefined) return "anonymous"
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { email?: unknown }
    return typeof claims.email === "string" ? claims.email : "unknown"
  } catch {
    return "unknown"
  }
}

const readJson = (req: Http.IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      try {
        resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch (error) {
        reject(error)
      }
    })
    req.on("error", reject)
  })

const sendJson = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/**
 * An MCP server with two tools, `add` and `whoami`, one McpServer per session.
 */
export const mcpServer = (): Http.RequestListener => {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const newSession = async () => {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport)
      }
    })
    const server = new McpServer({ name: "demo-tools", version: "1.0.0" })
    server.registerTool(
      "add",
      { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
      ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] })
    )
    server.registerTool(
      "whoami",
      { description: "The caller Cloud Run let through" },
      (extra) => ({ content: [{ type: "text", text: callerOf(extra.requestInfo?.headers ?? {}) }] })
    )
    await server.connect(transport)
    return transport
  }
  return (req, res) => {
    const id = req.headers["mcp-session-id"]
    const existing = typeof id === "string" ? sessions.get(id) : undefined
    void (existing === undefined ? newSession() : Promise.resolve(existing))
      .then((transport) => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: "mcp server failed" })
      })
  }
}

interface ChatBody {
  readonly model?: string
  readonly messages?: ReadonlyArray<{ readonly role?: string; readonly content?: unknown }>
}

const lastUserText = (body: ChatBody): string => {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === "user")
  return typeof last?.content === "string" ? last.content : ""
}

/** `POST /v1/chat/completions` (non-streaming), as vLLM's OpenAI-compatible server answers. */
export const openAiServer = (): Http.RequestListener => (req, res) => {
  void readJson(req).then((json) => {
    if (req.method !== "POST" || !req.url?.startsWith("/v1/chat/completions")) {
      return sendJson(res, 404, { error: { message: "not found", type: "invalid_request_error", code: null } })
    }
    const body = (json ?? {}) as ChatBody
    const text = `Echo: ${lastUserText(body)} (caller ${callerOf(req.headers)})`
    sendJson(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? "gemma",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 }
    })
  }, () => sendJson(res, 400, { error: { message: "invalid JSON", type: "invalid_request_error", code: null } }))
}

/** `POST /api/chat` with `stream: false`, as Ollama answers. */
export const ollamaServer = (): Http.RequestListener => (req, res) => {
  void readJson(req).then((json) => {
    if (req.method !== "POST" || req.url !== "/api/chat") return sendJson(res, 404, { error: "not found" })
    const body = (json ?? {}) as ChatBody
    sendJson(res, 200, {
      model: body.model ?? "gemma3",
      created_at: new Date().toISOString(),
      message: { role: "assistant", content: `Echo: ${lastUserText(body)} (caller ${callerOf(req.headers)})` },
      done: true,
      done_reason: "stop",
      total_duration: 1000,
      load_duration: 10,
      prompt_eval_count: 3,
      prompt_eval_duration: 100,
      eval_count: 5,
      eval_duration: 500
    })
  }, () => sendJson(res, 400, { error: "invalid JSON" }))
}
