/**
 * The upstream side of scenario 7 in its own process: the emulator (metadata server and
 * Cloud Run front door, which verifies the ID token on every request) with two deployed
 * services, `bench-upstream` (reads the body, answers {@link answer}) and `bench-slow`
 * (`slowStreamHandler`: one NDJSON line at once, the next `gapMs` later).
 *
 * Why a process of its own: the bench process is the client being measured. With the
 * upstream in the client's process, a direct call never left that process (the server
 * answered on the client's own event loop, no other process had to be woken), while a
 * call through a proxy crossed two processes and back; the comparison then charged the
 * proxy with the cost of the upstream hop direct calls did not make. Here direct,
 * proxy and floor all reach the upstream across a process boundary, as they reach a
 * Cloud Run service in production, and the difference is the proxy's own hop.
 *
 * Argument: `{ "gapMs": number }` as JSON. Prints `{ env, echoUrl, slowUrl, echoAuth,
 * slowAuth }`: the emulator's environment (for the proxy child's ADC), the services'
 * URLs, and an ID-token header for each (fetched once here, from the emulator's
 * metadata server: the warm header direct calls and the floor send). Exits, closing
 * the emulator, when its stdin closes.
 */
import type * as Http from "node:http"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as Emulator from "../src/testing/Emulator.js"
import { slowStreamHandler } from "./modelServers.js"

/** What `bench-upstream` answers: ~400 bytes of a Gemini reply. */
export const answer = JSON.stringify({
  candidates: [{ content: { role: "model", parts: [{ text: "Echo: ".padEnd(240, "x") }] }, finishReason: "STOP" }],
  usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 40, totalTokenCount: 52 }
})

/** A small model-like upstream: reads the body, answers {@link answer}. */
const upstream = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) })
    res.end(answer)
  })
}

/** What the child prints. */
export interface Upstreams {
  readonly env: Record<string, string>
  readonly echoUrl: string
  readonly slowUrl: string
  readonly echoAuth: Record<string, string>
  readonly slowAuth: Record<string, string>
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { gapMs } = JSON.parse(process.argv[2] ?? "{}") as { gapMs: number }
  const emulator = await Emulator.start({})
  Object.assign(process.env, emulator.env)
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  const echo = await emulator.cloudRun.deploy({ name: "bench-upstream", handler: upstream })
  const slow = await emulator.cloudRun.deploy({ name: "bench-slow", handler: slowStreamHandler(gapMs) })
  const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
  const out: Upstreams = {
    env: { ...emulator.env },
    echoUrl: echo.url,
    slowUrl: slow.url,
    echoAuth: { ...(await auth.headers({ kind: "id", audience: echo.url })) },
    slowAuth: { ...(await auth.headers({ kind: "id", audience: slow.url })) }
  }
  await auth.close()
  process.stdout.write(JSON.stringify(out) + "\n")
  // Exit when the parent closes our stdin (or dies), removing the emulator's temp files.
  const exit = () => void emulator.close().finally(() => process.exit(0))
  process.stdin.resume()
  process.stdin.once("end", exit)
  process.stdin.once("error", exit)
}
