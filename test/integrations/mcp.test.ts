import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { mcpServer } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as Mcp from "../../src/integrations/mcp.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let service: Emulator.CloudRunService
beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "mcp", handler: mcpServer() })
})

let auth: AuthClient.AuthClient
const clients: Array<Client> = []
beforeEach(() => {
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  await auth.close()
})

const connect = async (options?: Mcp.Options) => {
  const url = new URL(`${service.url}/mcp`)
  const client = new Client({ name: "effect-adc-test", version: "1.0.0" })
  clients.push(client)
  await client.connect(new StreamableHTTPClientTransport(url, Mcp.transportOptions(auth, url, options)))
  return client
}

const textOf = (result: Awaited<ReturnType<Client["callTool"]>>) =>
  (result.content as ReadonlyArray<{ type: string; text?: string }>).map((c) => c.text ?? "").join("")

describe("Mcp with the real MCP SDK behind the Cloud Run front door", () => {
  it("without our fetch the front door refuses the client", async () => {
    const client = new Client({ name: "plain", version: "1.0.0" })
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(`${service.url}/mcp`)))).rejects.toThrow()
    expect(
      emulator.controls.log.filter((l) => l.endpoint === "cloudrun:mcp").every((l) =>
        l.detail?.startsWith("rejected 401")
      )
    )
      .toBe(true)
  })

  it("lists and calls tools with an ID token for the service", async () => {
    const client = await connect()
    const tools = await client.listTools()
    expect(tools.tools.map((t) => t.name).sort()).toEqual(["add", "whoami"])
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } }))).toBe("5")
    expect(textOf(await client.callTool({ name: "whoami", arguments: {} }))).toBe(emulator.serviceAccount.email)
    // Every request of the session reused one cached ID token.
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    expect(
      emulator.controls.log.filter((l) => l.endpoint === "cloudrun:mcp").every((l) =>
        l.principal === emulator.serviceAccount.email
      )
    )
      .toBe(true)
  })

  it("the token can ride in X-Serverless-Authorization, leaving Authorization to the server's own OAuth", async () => {
    const client = await connect({ header: "X-Serverless-Authorization" })
    expect(textOf(await client.callTool({ name: "whoami", arguments: {} }))).toBe(emulator.serviceAccount.email)
  })

  it("survives a token expiry mid-session: one rejected request, one replay with a fresh token", async () => {
    const client = await connect()
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 1, b: 1 } }))).toBe("2")
    const before = emulator.controls.count("cloudrun:mcp")
    // The front door's clock moves past the held token's expiry.
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 20, b: 22 } }))).toBe("42")
    const after = emulator.controls.log.filter((l) => l.endpoint === "cloudrun:mcp").slice(before)
    expect(after.map((l) => l.detail?.startsWith("rejected 401") === true)).toEqual([true, false])
    expect(emulator.controls.count("metadata.identity")).toBe(2)
    // The session goes on with the new token.
    expect(textOf(await client.callTool({ name: "whoami", arguments: {} }))).toBe(emulator.serviceAccount.email)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })
})
