import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { Ollama } from "ollama"
import { callerOf } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as OllamaAuth from "../../src/integrations/ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
const model = OllamaEmulator.make()
let gemma: Emulator.CloudRunService
beforeAll(async () => {
  gemma = await emulator.cloudRun.deploy({ name: "gemma", handler: model.handler })
})

let auth: AuthClient.AuthClient
beforeEach(() => {
  model.reset()
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const chat = (ollama: Ollama, text: string) =>
  ollama.chat({ model: "gemma3:4b", messages: [{ role: "user", content: text }], stream: false })

describe("OllamaAuth with the real ollama client and the Ollama emulator behind the Cloud Run front door", () => {
  it("without our fetch the front door answers 401", async () => {
    await expect(chat(new Ollama({ host: gemma.url }), "hi")).rejects.toThrow()
    expect(emulator.controls.log.at(-1)?.detail).toMatch(/^rejected 401: no token/)
    expect(model.requests).toHaveLength(0)
  })

  it("chat with an ID token from the cache; a rejected token is replaced and the request replayed once", async () => {
    const ollama = new Ollama(OllamaAuth.config(auth, gemma.url))
    const first = await chat(ollama, "hello gemma")
    expect(first.message.content).toBe("Echo: hello gemma")
    expect(first.done).toBe(true)
    expect(callerOf(model.requests[0]?.headers ?? {})).toBe(emulator.serviceAccount.email)
    await chat(ollama, "again")
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    expect((await chat(ollama, "later")).message.content).toBe("Echo: later")
    expect(emulator.controls.count("cloudrun:gemma")).toBe(4)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })

  it("streams NDJSON through our fetch", async () => {
    const ollama = new Ollama(OllamaAuth.config(auth, gemma.url))
    const stream = await ollama.chat({
      model: "gemma3:4b",
      messages: [{ role: "user", content: "tell me about robins in the garden" }],
      stream: true
    })
    const parts: Array<string> = []
    for await (const part of stream) parts.push(part.message.content)
    expect(parts.filter((p) => p.length > 0).length).toBeGreaterThan(1)
    expect(parts.join("")).toBe("Echo: tell me about robins in the garden")
  })
})
