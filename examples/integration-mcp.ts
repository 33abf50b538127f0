/**
 * The MCP SDK's Streamable HTTP client on an MCP server on private Cloud Run: our
 * fetch puts a Google-signed ID token (not an access token: Cloud Run rejects those)
 * on every request, refreshed in the background, and replays once if a token expires
 * mid-session.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-mcp.ts                      # local emulator
 *   MCP_SERVER_URL=https://mcp-…run.app/mcp npx tsx examples/integration-mcp.ts  # your ADC
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as Mcp from "../src/integrations/mcp.js"
import { runMain } from "./demoMode.js"
import { cloudRunDemo, mcpServer } from "./integration-servers.js"

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = await cloudRunDemo("mcp-tools", mcpServer(), "MCP_SERVER_URL")
  const url = new URL(demo.emulator === undefined ? demo.url : `${demo.url}/mcp`)
  const auth = AuthClient.make(demo.authOptions)
  const client = new Client({ name: "effect-adc-example", version: "1.0.0" })
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  const text = (result: Awaited<ReturnType<Client["callTool"]>>) =>
    (result.content as ReadonlyArray<{ readonly text?: string }>).map((c) => c.text ?? "").join("")
  try {
    await client.connect(new StreamableHTTPClientTransport(url, Mcp.transportOptions(auth, url)))
    const { tools } = await client.listTools()
    say(`tools: ${tools.map((t) => t.name).join(", ")}`)
    if (tools.some((t) => t.name === "add")) {
      say(`add(2, 3) = ${text(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } }))}`)
    }
    if (demo.emulator !== undefined) {
      say(`whoami: ${text(await client.callTool({ name: "whoami", arguments: {} }))}`)
      // Two hours later at the front door: the held ID token has expired.
      demo.emulator.controls.setClockOffset(2 * 3600 * 1000)
      say(
        `after the token expired, add(20, 22) = ${
          text(await client.callTool({ name: "add", arguments: { a: 20, b: 22 } }))
        }`
      )
      say(`ID tokens fetched: ${demo.emulator.controls.count("metadata.identity")}`)
    }
  } finally {
    await client.close()
    await auth.close()
    await demo.close()
  }
  return lines
}

runMain(import.meta.url, main)
