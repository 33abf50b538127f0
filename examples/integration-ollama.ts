/**
 * The ollama client on Ollama serving Gemma on private Cloud Run: its `fetch` option
 * signs every request with a Google-signed ID token.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-ollama.ts                     # local emulator
 *   OLLAMA_URL=https://gemma-…run.app npx tsx examples/integration-ollama.ts     # your ADC
 */
import { Ollama } from "ollama"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as OllamaAuth from "../src/integrations/ollama.js"
import * as OllamaEmulator from "../src/testing/models/OllamaEmulator.js"
import { runMain } from "./demoMode.js"
import { admittedBy, cloudRunDemo } from "./integration-servers.js"

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = await cloudRunDemo("gemma", OllamaEmulator.make().handler, "OLLAMA_URL")
  const auth = AuthClient.make(demo.authOptions)
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  try {
    const ollama = new Ollama(OllamaAuth.config(auth, demo.url))
    const response = await ollama.chat({
      model: process.env["OLLAMA_MODEL"] ?? "gemma3:4b",
      messages: [{ role: "user", content: "Say hello from Cloud Run" }],
      stream: false
    })
    say(`assistant: ${response.message.content}`)
    say(`tokens: ${response.prompt_eval_count} in, ${response.eval_count} out`)
    const admitted = admittedBy(demo)
    if (admitted !== undefined) say(`Cloud Run let in: ${admitted}`)
  } finally {
    await auth.close()
    await demo.close()
  }
  return lines
}

runMain(import.meta.url, main)
