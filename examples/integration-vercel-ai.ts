/**
 * The Vercel AI SDK (`ai`) on our tokens: `@ai-sdk/openai-compatible` on vLLM on private
 * Cloud Run with `SigningFetch` (a fresh ID token per request), and
 * `@ai-sdk/google-vertex` on Gemini with access tokens from our cache
 * (`googleAuthOptions.authClient`), `generateText` and `streamText` on each.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-vercel-ai.ts                                 # local emulator
 *   VLLM_URL=https://vllm-…run.app GOOGLE_CLOUD_PROJECT=my-project npx tsx examples/integration-vercel-ai.ts
 */
import { createGoogleVertex } from "@ai-sdk/google-vertex"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateText, streamText } from "ai"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as SigningFetch from "../src/http/SigningFetch.js"
import * as GenAI from "../src/integrations/genai.js"
import * as Emulator from "../src/testing/Emulator.js"
import * as ModelEmulators from "../src/testing/ModelEmulators.js"
import { isDemo, runMain } from "./demoMode.js"

/** In demo mode: the identity emulator and the model emulators (vLLM behind the Cloud Run front door, Gemini). */
const demoSetup = async () => {
  const emulator = await Emulator.start()
  Object.assign(process.env, emulator.env)
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  const models = await ModelEmulators.serve(emulator)
  return {
    emulator,
    vllmUrl: models.openAICompatible.url,
    geminiUrl: models.gemini.url,
    close: async () => {
      await models.close()
      await emulator.close()
    }
  }
}

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`Set ${name}, or run with EFFECT_ADC_DEMO=1 against the local emulator.`)
  }
  return value
}

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = isDemo() ? await demoSetup() : undefined
  const auth = AuthClient.make(
    demo === undefined ? {} : { projectId: demo.emulator.projectId, clientOptions: demo.emulator.clientOptions }
  )
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  try {
    // vLLM (or Ollama's /v1) on private Cloud Run: every request gets an ID token for the service.
    const vllmUrl = demo?.vllmUrl ?? required("VLLM_URL")
    const vllm = createOpenAICompatible({
      name: "vllm",
      baseURL: `${vllmUrl}/v1`,
      fetch: SigningFetch.make(auth, { targets: { [vllmUrl]: "id" } })
    })
    const gemma = vllm(process.env["VLLM_MODEL"] ?? "google/gemma-3-4b-it")
    say(`vllm generateText: ${(await generateText({ model: gemma, prompt: "Say hello from Cloud Run" })).text}`)
    let streamed = ""
    for await (const delta of streamText({ model: gemma, prompt: "Count from one to five" }).textStream) {
      streamed += delta
    }
    say(`vllm streamText: ${streamed}`)

    // Gemini on Vertex AI: the provider asks our auth client for an access token before every request.
    const project = demo?.emulator.projectId ?? required("GOOGLE_CLOUD_PROJECT")
    const location = process.env["GOOGLE_CLOUD_LOCATION"] ?? "us-central1"
    const vertex = createGoogleVertex({
      project,
      location,
      googleAuthOptions: { authClient: new GenAI.AdcAuthClient(auth) },
      // in demo mode, the loopback Gemini emulator stands in for aiplatform.googleapis.com
      ...(demo === undefined ? {} : {
        baseURL: `${demo.geminiUrl}/v1beta1/projects/${project}/locations/${location}/publishers/google`
      })
    })
    const gemini = vertex(process.env["GEMINI_MODEL"] ?? "gemini-2.5-flash")
    say(`gemini generateText: ${(await generateText({ model: gemini, prompt: "Why is the sky blue?" })).text}`)
    streamed = ""
    for await (const delta of streamText({ model: gemini, prompt: "And at sunset?" }).textStream) streamed += delta
    say(`gemini streamText: ${streamed}`)
    if (demo !== undefined) {
      say(
        `tokens fetched: ${demo.emulator.controls.count("metadata.identity")} ID, ${
          demo.emulator.controls.count("metadata.token")
        } access`
      )
    }
  } finally {
    await auth.close()
    await demo?.close()
  }
  return lines
}

runMain(import.meta.url, main)
