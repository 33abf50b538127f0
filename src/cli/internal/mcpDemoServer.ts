/**
 * The demo's MCP server, deployed behind the emulator's Cloud Run front door: the MCP
 * SDK's low-level `Server` over Streamable HTTP, one server per session, with two
 * tools: `add` and `whoami` (the caller the front door let through, read from the
 * forwarded ID token; Cloud Run strips its signature, so only the claims are read).
 *
 * It imports `@modelcontextprotocol/sdk` (an optional peer): load this module with a
 * dynamic `import()` and handle its absence.
 *
 * @internal
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { randomUUID } from "node:crypto"
import type * as Http from "node:http"
import { stripBearer } from "../../internal/bearer.js"

/** The email in the ID token Cloud Run forwarded (`X-Serverless-Authorization`, else `Authorization`). @internal */
export const callerOf = (headers: Http.IncomingHttpHeaders | Record<string, string | Array<string> | undefined>) => {
  const header = headers["x-serverless-authorization"] ?? headers["authorization"]
  const payload = typeof header === "string" ? stripBearer(header).split(".")[1] : undefined
  if (payload === undefined) return "anonymous"
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { email?: unknown }
    return typeof claims.email === "string" ? claims.email : "unknown"
  } catch {
    return "unknown"
  }
}

const tools = [
  {
    name: "add",
    description: "Adds two numbers",
    inputSchema: {
      type: "object" as const,
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"]
    }
  },
  {
    name: "whoami",
    description: "The caller Cloud Run let through",
    inputSchema: { type: "object" as const, properties: {} }
  }
]

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] })

/** A `RequestListener` serving MCP (Streamable HTTP) on every path. @internal */
export const mcpDemoServer = (): Http.RequestListener => {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const newSession = async () => {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport)
      }
    })
    const server = new Server({ name: "effect-adc-demo-tools", version: "1.0.0" }, { capabilities: { tools: {} } })
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }))
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>
      switch (request.params.name) {
        case "add":
          return text(String(Number(args["a"]) + Number(args["b"])))
        case "whoami":
          return text(callerOf(extra.requestInfo?.headers ?? {}))
        default:
          return { ...text(`unknown tool ${request.params.name}`), isError: true }
      }
    })
    await server.connect(transport)
    return transport
  }
  return (req, res) => {
    const id = req.headers["mcp-session-id"]
    const existing = typeof id === "string" ? sessions.get(id) : undefined
    void (existing === undefined ? newSession() : Promise.resolve(existing))
      .then((transport) => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: "mcp server failed" }))
        }
      })
  }
}
