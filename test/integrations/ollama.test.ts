import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { Ollama } from "ollama"
import { ollamaServer } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as OllamaAuth from "../../src/integrations/ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let gemma: Emulator.CloudRunService
beforeAll(async () => {
  gemma = await emulator.cloudRun.deploy({ name: "gemma", handler: ollamaServer() })
})

let auth: AuthClient.AuthClient
beforeEach(() => {
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const chat = (ollama: Ollama, text: string) =>
  ollama.chat({ model: "gemma3:4b", messages: [{ role: "user", content: text }], stream: false })

describe("OllamaAuth with the real ollama client behind the Cloud Run front door", () => {
  it("without our fetch the front door answers 401", async () => {
    await expect(chat(new Ollama({ host: gemma.url }), "hi")).rejects.toThrow()
    expect(emulator.controls.log.at(-1)?.detail).toMatch(/^rejected 401: no token/)
  })

  it("chat with an ID token from the cache; a rejected token is replaced and the request replayed once", async () => {
    const ollama = new Ollama(OllamaAuth.config(auth, gemma.url))
    const first = await chat(ollama, "hello gemma")
    expect(first.message.content).toBe(`Echo: hello gemma (caller ${emulator.serviceAccount.email})`)
    expect(first.done).toBe(true)
    await chat(ollama, "again")
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    expect((await chat(ollama, "later")).message.content).toContain("Echo: later")
    expect(emulator.controls.count("cloudrun:gemma")).toBe(4)
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })
})
