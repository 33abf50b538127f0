/**
 * Demo services for the integration examples, deployed behind the emulator's Cloud
 * Run front door in demo mode: a real MCP server (the SDK's McpServer over Streamable
 * HTTP) and an A2A agent (the SDK's request handler), each naming the caller the front
 * door let through, read from the forwarded ID token (Cloud Run strips its signature).
 * The model servers come from `src/testing/models`. {@link cloudRunDemo} deploys
 * one in demo mode, or reads your real service's URL from the environment.
 */
import { A2A_PROTOCOL_VERSION, A2A_VERSION_HEADER, AGENT_CARD_PATH, type AgentCard, Role } from "@a2a-js/sdk"
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  defaultServerCallContextBuilder,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  STATE_HEADERS_KEY,
  UnauthenticatedUser
} from "@a2a-js/sdk/server"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomUUID } from "node:crypto"
import type * as Http from "node:http"
import { z } from "zod"
import type * as AuthService from "../src/auth/AuthService.js"
import * as Emulator from "../src/testing/Emulator.js"
import { isDemo } from "./demoMode.js"

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

/**
 * An A2A agent (the SDK's request handler over JSON-RPC, v1.0): its card at
 * `/.well-known/agent-card.json`, and an executor that answers every message with
 * an echo naming the caller.
 */
export const a2aServer = (): Http.RequestListener => {
  const card = (url: string): AgentCard => ({
    name: "echo-agent",
    description: "Echoes what it is told, naming the caller Cloud Run let through",
    supportedInterfaces: [{ url, protocolBinding: "JSONRPC", tenant: "", protocolVersion: A2A_PROTOCOL_VERSION }],
    provider: undefined,
    version: "1.0.0",
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [],
    signatures: []
  })
  const handlers = new Map<string, JsonRpcTransportHandler>()
  const handlerFor = (url: string) => {
    let handler = handlers.get(url)
    if (handler === undefined) {
      const executor: AgentExecutor = {
        execute: async (context, bus) => {
          const text = context.userMessage.parts.map((p) => p.content?.$case === "text" ? p.content.value : "").join("")
          const caller = callerOf((context.context?.state.get(STATE_HEADERS_KEY) ?? {}) as Http.IncomingHttpHeaders)
          bus.publish(AgentEvent.message({
            messageId: randomUUID(),
            contextId: context.contextId,
            taskId: "",
            role: Role.ROLE_AGENT,
            parts: [{
              content: { $case: "text", value: `Echo: ${text} (caller ${caller})` },
              metadata: undefined,
              filename: "",
              mediaType: "text/plain"
            }],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: []
          }))
          bus.finished()
        },
        cancelTask: async () => {}
      }
      handler = new JsonRpcTransportHandler(new DefaultRequestHandler(card(url), new InMemoryTaskStore(), executor))
      handlers.set(url, handler)
    }
    return handler
  }
  return (req, res) => {
    const url = `http://${req.headers.host ?? "localhost"}`
    if (req.method === "GET" && req.url === `/${AGENT_CARD_PATH.replace(/^\//, "")}`) {
      return sendJson(res, 200, card(url))
    }
    if (req.method !== "POST" || req.url !== "/") return sendJson(res, 404, { error: "not found" })
    void readJson(req).then(async (body) => {
      const context = defaultServerCallContextBuilder({
        extensions: undefined,
        user: new UnauthenticatedUser(),
        headers: req.headers,
        requestedVersion: typeof req.headers[A2A_VERSION_HEADER.toLowerCase()] === "string"
          ? req.headers[A2A_VERSION_HEADER.toLowerCase()] as string
          : A2A_PROTOCOL_VERSION
      })
      const result = await handlerFor(url).handle(body as Record<string, unknown>, context)
      sendJson(res, 200, result)
    }).catch(() => sendJson(res, 500, { error: "a2a server failed" }))
  }
}

/** Where an example's service lives, and the AuthClient options that reach its tokens. */
export interface Demo {
  readonly url: string
  readonly authOptions: AuthService.Options
  /** The emulator in demo mode. */
  readonly emulator: Emulator.EmulatorHandle | undefined
  readonly close: () => Promise<void>
}

/**
 * In demo mode (`EFFECT_ADC_DEMO=1` or `--demo`): starts the emulator, points this
 * process at it as if on Cloud Run, and deploys `handler` behind its front door.
 * Otherwise: the URL of your real service from `envVar`, and real ADC.
 */
export const cloudRunDemo = async (name: string, handler: Http.RequestListener, envVar: string): Promise<Demo> => {
  if (!isDemo()) {
    const url = process.env[envVar]
    if (url === undefined || url === "") {
      throw new Error(
        `Set ${envVar} to your Cloud Run service URL, or run with EFFECT_ADC_DEMO=1 against the local emulator.`
      )
    }
    return { url, authOptions: {}, emulator: undefined, close: () => Promise.resolve() }
  }
  const emulator = await Emulator.start()
  Object.assign(process.env, emulator.env)
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  const service = await emulator.cloudRun.deploy({ name, handler })
  return {
    url: service.url,
    authOptions: { projectId: emulator.projectId, clientOptions: emulator.clientOptions },
    emulator,
    close: () => emulator.close()
  }
}

/** In demo mode, which principal the Cloud Run front door let in last (for the example's output). */
export const admittedBy = (demo: Demo): string | undefined =>
  demo.emulator === undefined
    ? undefined
    : demo.emulator.controls.log.findLast((entry) => entry.endpoint.startsWith("cloudrun:"))?.principal ?? "nobody"
