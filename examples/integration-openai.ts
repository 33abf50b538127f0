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
import { runMain } from "./demoMode.js"
import { admittedBy, cloudRunDemo } from "./integration-servers.js"

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
    const admitted = admittedBy(demo)
    if (admitted !== undefined) say(`Cloud Run let in: ${admitted}`)
  } finally {
    await auth.close()
    await demo.close()
  }
  return lines
}

runMain(import.meta.url, main)
