/**
 * An ADK agent (`@google/adk` LlmAgent, run by InMemoryRunner) whose model is Gemma
 * served by Ollama on private Cloud Run, through ModelService, and whose tools come
 * from an MCP server on another private Cloud Run service. One AuthClient's cache
 * signs both with Google ID tokens (one per service): Adk.fromAuthClient for the
 * model, Mcp.transportOptions as the MCPToolset's `transportOptions`.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-adk.ts                          # local emulator
 *   OLLAMA_URL=https://gemma-…run.app MCP_SERVER_URL=https://mcp-…run.app/mcp \
 *     npx tsx examples/integration-adk.ts                                          # your ADC
 */
import { InMemoryRunner, LlmAgent, MCPToolset } from "@google/adk"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as Adk from "../src/integrations/adk.js"
import * as Mcp from "../src/integrations/mcp.js"
import * as Ollama from "../src/model/ollama/Ollama.js"
import * as OllamaEmulator from "../src/testing/models/OllamaEmulator.js"
import { runMain } from "./demoMode.js"
import { cloudRunDemo, mcpServer } from "./integration-servers.js"

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = await cloudRunDemo("mcp-tools", mcpServer(), "MCP_SERVER_URL")
  const mcpUrl = demo.emulator === undefined ? demo.url : `${demo.url}/mcp`
  const gemmaUrl = demo.emulator === undefined
    ? process.env["OLLAMA_URL"]
    : (await demo.emulator.cloudRun.deploy({ name: "gemma", handler: OllamaEmulator.make().handler })).url
  if (gemmaUrl === undefined || gemmaUrl === "") {
    await demo.close()
    throw new Error("Set OLLAMA_URL to your Ollama (Gemma) Cloud Run service URL, or run with EFFECT_ADC_DEMO=1.")
  }
  const auth = AuthClient.make(demo.authOptions)
  const model = Adk.fromAuthClient(auth, Ollama.layer({ url: gemmaUrl }), {
    model: process.env["OLLAMA_MODEL"] ?? "gemma3:4b"
  })
  const toolset = new MCPToolset({
    type: "StreamableHTTPConnectionParams",
    url: mcpUrl,
    transportOptions: Mcp.transportOptions(auth, mcpUrl)
  })
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  try {
    say(`tools: ${(await toolset.getTools()).map((t) => t.name).sort().join(", ")}`)
    const agent = new LlmAgent({
      name: "calculator",
      model,
      instruction: "Answer arithmetic questions with the add tool.",
      tools: [toolset]
    })
    const runner = new InMemoryRunner({ agent, appName: "effect-adc-example" })
    const session = await runner.sessionService.createSession({ appName: "effect-adc-example", userId: "user" })
    let answer = ""
    for await (
      const event of runner.runAsync({
        userId: "user",
        sessionId: session.id,
        newMessage: { role: "user", parts: [{ text: "add a=2 b=3" }] }
      })
    ) {
      for (const part of event.content?.parts ?? []) {
        if (part.functionCall !== undefined) {
          say(`tool call: ${part.functionCall.name}(${JSON.stringify(part.functionCall.args)})`)
        }
        if (part.functionResponse !== undefined) {
          const content = (part.functionResponse.response as { content?: ReadonlyArray<{ text?: string }> }).content
          say(`tool result: ${(content ?? []).map((c) => c.text ?? "").join("")}`)
        }
        if (part.text !== undefined && event.partial !== true) answer = part.text
      }
    }
    say(`agent: ${answer}`)
    if (demo.emulator !== undefined) say(`ID tokens fetched: ${demo.emulator.controls.count("metadata.identity")}`)
  } finally {
    await toolset.close()
    await model.close()
    await auth.close()
    await demo.close()
  }
  return lines
}

runMain(import.meta.url, main)
