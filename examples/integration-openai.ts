/**
 * The openai client on an OpenAI-compatible server (vLLM serving Gemma) on private
 * Cloud Run: our fetch signs every request with a Google-signed ID token.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-openai.ts                     # local emulator
 *   VLLM_URL=https://vllm-…run.app npx tsx examples/integration-openai.ts        # your ADC
 */
import OpenAI from "openai"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as OpenAi from "../src/integrations/openai.js"
import * as OpenAICompatibleEmulator from "../src/testing/models/OpenAICompatibleEmulator.js"
import { cloudRunDemo } from "./integration-servers.js"

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = await cloudRunDemo("vllm", OpenAICompatibleEmulator.make().handler, "VLLM_URL")
  const auth = AuthClient.make(demo.authOptions)
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  try {
    const client = new OpenAI(OpenAi.clientOptions(auth, `${demo.url}/v1`))
    const completion = await client.chat.completions.create({
      model: process.env["VLLM_MODEL"] ?? "google/gemma-3-4b-it",
      messages: [{ role: "user", content: "Say hello from Cloud Run" }]
    })
    say(`assistant: ${completion.choices[0]?.message.content ?? ""}`)
    say(`usage: ${completion.usage?.total_tokens ?? 0} tokens`)
    if (demo.emulator !== undefined) {
      const admitted = demo.emulator.controls.log.findLast((entry) => entry.endpoint.startsWith("cloudrun:"))
      say(`Cloud Run let in: ${admitted?.principal ?? "nobody"}`)
    }
  } finally {
    await auth.close()
    await demo.close()
  }
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
