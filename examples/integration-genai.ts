/**
 * Existing @google/genai code, keyless: `googleAuthOptions.authClient` hands the SDK
 * access tokens from our cache (refreshed in the background) instead of an API key.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-genai.ts                          # local emulator
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx examples/integration-genai.ts           # Vertex AI, your ADC
 */
import { GoogleGenAI } from "@google/genai"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as GenAI from "../src/integrations/genai.js"
import * as Emulator from "../src/testing/Emulator.js"
import * as ModelEmulators from "../src/testing/ModelEmulators.js"
import { isDemo, runMain } from "./demoMode.js"

/** In demo mode: the identity emulator, plus the Gemini emulator (it checks our access tokens) that `httpOptions.baseUrl` points at. */
const demoSetup = async () => {
  const emulator = await Emulator.start()
  Object.assign(process.env, emulator.env)
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  const models = await ModelEmulators.serve(emulator)
  return {
    emulator,
    baseUrl: models.gemini.url,
    close: async () => {
      await models.close()
      await emulator.close()
    }
  }
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
    const ai = new GoogleGenAI({
      vertexai: true,
      project: demo?.emulator.projectId ?? process.env["GOOGLE_CLOUD_PROJECT"] ?? "",
      location: process.env["GOOGLE_CLOUD_LOCATION"] ?? "global",
      // In demo mode the loopback Gemini server may receive the access token too.
      googleAuthOptions: GenAI.googleAuthOptions(auth, { origins: demo === undefined ? [] : [demo.baseUrl] }),
      ...(demo === undefined ? {} : { httpOptions: { baseUrl: demo.baseUrl } })
    })
    const model = process.env["GEMINI_MODEL"] ?? "gemini-2.5-flash"
    const first = await ai.models.generateContent({ model, contents: "Why is the sky blue? One sentence." })
    say(`gemini: ${first.text ?? ""}`)
    const second = await ai.models.generateContent({ model, contents: "And at sunset?" })
    say(`gemini: ${second.text ?? ""}`)
    if (demo !== undefined) {
      say(`access tokens fetched for two calls: ${demo.emulator.controls.count("metadata.token")}`)
    }
  } finally {
    await auth.close()
    await demo?.close()
  }
  return lines
}

runMain(import.meta.url, main)
