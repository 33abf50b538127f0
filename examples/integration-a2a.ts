/**
 * An @a2a-js/sdk client talking to an agent on private Cloud Run: one fetchImpl,
 * signing with a Google-signed ID token, for the card resolver and the transports.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-a2a.ts                        # local emulator
 *   A2A_AGENT_URL=https://agent-…run.app npx tsx examples/integration-a2a.ts     # your ADC
 */
import { Role } from "@a2a-js/sdk"
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory
} from "@a2a-js/sdk/client"
import { randomUUID } from "node:crypto"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as A2A from "../src/integrations/a2a.js"
import { runMain } from "./demoMode.js"
import { a2aServer, cloudRunDemo } from "./integration-servers.js"

/** The example; returns what it printed, for the examples test. */
export const main = async (): Promise<ReadonlyArray<string>> => {
  const demo = await cloudRunDemo("echo-agent", a2aServer(), "A2A_AGENT_URL")
  const auth = AuthClient.make(demo.authOptions)
  const lines: Array<string> = []
  const say = (line: string) => {
    lines.push(line)
    console.log(line)
  }
  try {
    const fetchImpl = A2A.fetchImpl(auth, demo.url)
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl })
    }))
    const client = await factory.createFromUrl(demo.url)
    const result = await client.sendMessage({
      tenant: "",
      configuration: undefined,
      metadata: undefined,
      message: {
        messageId: randomUUID(),
        contextId: "",
        taskId: "",
        role: Role.ROLE_USER,
        parts: [{
          content: { $case: "text", value: "hello agent" },
          metadata: undefined,
          filename: "",
          mediaType: "text/plain"
        }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: []
      }
    })
    const parts = "parts" in result ? result.parts : result.status?.message?.parts ?? []
    say(`agent: ${parts.map((p) => (p.content?.$case === "text" ? p.content.value : "")).join("")}`)
  } finally {
    await auth.close()
    await demo.close()
  }
  return lines
}

runMain(import.meta.url, main)
