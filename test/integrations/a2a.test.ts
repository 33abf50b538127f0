import { Role } from "@a2a-js/sdk"
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory
} from "@a2a-js/sdk/client"
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { a2aServer } from "../../examples/integration-servers.js"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as A2A from "../../src/integrations/a2a.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
let agent: Emulator.CloudRunService
beforeAll(async () => {
  agent = await emulator.cloudRun.deploy({ name: "agent", handler: a2aServer() })
})

let auth: AuthClient.AuthClient
beforeEach(() => {
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const factoryWith = (fetchImpl: typeof fetch | undefined) =>
  new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [
      new JsonRpcTransportFactory(fetchImpl === undefined ? {} : { fetchImpl }),
      new RestTransportFactory(fetchImpl === undefined ? {} : { fetchImpl })
    ],
    cardResolver: new DefaultAgentCardResolver(fetchImpl === undefined ? {} : { fetchImpl })
  }))

const message = (text: string) => ({
  tenant: "",
  configuration: undefined,
  metadata: undefined,
  message: {
    messageId: crypto.randomUUID(),
    contextId: "",
    taskId: "",
    role: Role.ROLE_USER,
    parts: [{
      content: { $case: "text" as const, value: text },
      metadata: undefined,
      filename: "",
      mediaType: "text/plain"
    }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: []
  }
})

const textOf = (result: unknown): string => {
  const parts = (result as { parts?: ReadonlyArray<{ content?: { $case: string; value: unknown } }> }).parts ?? []
  return parts.map((p) => (p.content?.$case === "text" ? String(p.content.value) : "")).join("")
}

describe("A2A with the real @a2a-js/sdk client behind the Cloud Run front door", () => {
  it("without our fetchImpl the card cannot be fetched", async () => {
    await expect(factoryWith(undefined).createFromUrl(agent.url)).rejects.toThrow()
    expect(emulator.controls.log.at(-1)?.detail).toMatch(/^rejected 401: no token/)
  })

  it("card resolver and JSON-RPC transport signed with one cached ID token; a rejected token is replayed once", async () => {
    const client = await factoryWith(A2A.fetchImpl(auth, agent.url)).createFromUrl(agent.url)
    expect(textOf(await client.sendMessage(message("hello agent")))).toBe(
      `Echo: hello agent (caller ${emulator.serviceAccount.email})`
    )
    expect(emulator.controls.count("cloudrun:agent")).toBe(2) // card, message
    expect(emulator.controls.count("metadata.identity")).toBe(1)
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    expect(textOf(await client.sendMessage(message("later")))).toContain("Echo: later")
    expect(emulator.controls.count("cloudrun:agent")).toBe(4) // rejected, replay
    expect(emulator.controls.count("metadata.identity")).toBe(2)
  })
})
