import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import OpenAI from "openai"
import { callerOf } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as OpenAi from "../../src/integrations/openai.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
const model = OpenAICompatibleEmulator.make()
let vllm: Emulator.CloudRunService
beforeAll(async () => {
  vllm = await emulator.cloudRun.deploy({ name: "vllm", handler: model.handler })
})

let auth: AuthClient.AuthClient
beforeEach(() => {
  model.reset()
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const ask = (client: OpenAI, text: string) =>
  client.chat.completions.create({ model: "google/gemma-3-4b-it", messages: [{ role: "user", content: text }] })
    .then((completion) => completion.choices[0]?.message.content)

describe("OpenAi with the real openai client and the vLLM emulator behind the Cloud Run front door", () => {
  it("our fetch: chat completions with an ID token, one token fetch, a rejected token replaced once", async () => {
    const client = new OpenAI({ ...OpenAi.clientOptions(auth, `${vllm.url}/v1`), maxRetries: 0 })
    expect(await ask(client, "hello")).toBe("Echo: hello")
    expect(await ask(client, "again")).toBe("Echo: again")
    expect(callerOf(model.requests[0]?.headers ?? {})).toBe(emulator.serviceAccount.email)
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    expect(await ask(client, "after expiry")).toBe("Echo: after expiry")
    expect(emulator.controls.count("cloudrun:vllm")).toBe(4) // two, rejected, replay
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("streams server-sent events through our fetch", async () => {
    const client = new OpenAI(OpenAi.clientOptions(auth, `${vllm.url}/v1`))
    const stream = await client.chat.completions.create({
      model: "google/gemma-3-4b-it",
      messages: [{ role: "user", content: "tell me about robins in the garden" }],
      stream: true
    })
    const deltas: Array<string> = []
    for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? "")
    expect(deltas.filter((d) => d.length > 0).length).toBeGreaterThan(1)
    expect(deltas.join("")).toBe("Echo: tell me about robins in the garden")
  })

  it("vLLM's own --api-key stays in Authorization when the ID token rides in X-Serverless-Authorization", async () => {
    const keyed = OpenAICompatibleEmulator.make({ apiKey: "vllm-key" })
    const service = await emulator.cloudRun.deploy({ name: "vllm-keyed", handler: keyed.handler })
    const client = new OpenAI(
      OpenAi.clientOptions(auth, `${service.url}/v1`, { header: "X-Serverless-Authorization", apiKey: "vllm-key" })
    )
    expect(await ask(client, "keyed")).toBe("Echo: keyed")
    expect(keyed.requests[0]?.headers["authorization"]).toBe("Bearer vllm-key")
    expect(callerOf(keyed.requests[0]?.headers ?? {})).toBe(emulator.serviceAccount.email)
    await service.close()
  })

  it("openai's async apiKey hook reads the token from the cache before each request", async () => {
    const client = new OpenAI({ baseURL: `${vllm.url}/v1`, apiKey: OpenAi.apiKey(auth, vllm.url), maxRetries: 0 })
    expect(await ask(client, "via apiKey")).toBe("Echo: via apiKey")
    await ask(client, "twice")
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    // No replay on this path: a rejected token surfaces as openai's 401.
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    await expect(ask(client, "expired")).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
  })
})
