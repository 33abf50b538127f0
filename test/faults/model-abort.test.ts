/**
 * Promise facades over ModelService cancel: a loopback server that answers nothing
 * (headers only, or nothing at all) stands for a silent model; an aborted signal or
 * `dispose()` settles the caller with a typed error, and the server sees its socket
 * closed.
 *
 * Matrix: {FetchHttpClient, UndiciHttpClient} × (ModelClient.generate × {signal, dispose},
 * ModelClient.stream × {signal, dispose}, ADK's AdcLlm × {single call, streaming} ×
 * {signal, close()}).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { LlmRequest } from "@google/adk"
import * as Layer from "effect/Layer"
import * as Adk from "../../src/integrations/adk.js"
import * as ModelClient from "../../src/model/ModelClient.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { emulatorBase, httpClients } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })

let url = ""
let server: Loopback.LoopbackServer
/** Resolvers waiting for the next request, and for the next closed socket. */
const arrived: Array<() => void> = []
const closed: Array<() => void> = []
let closedSockets = 0

beforeAll(async () => {
  server = await Loopback.serve((req, res) => {
    req.resume()
    req.on("end", () => {
      // a stream opens (headers) and then stays silent; a plain call gets nothing at all
      if (req.url?.includes("api/chat") === true && req.headers["x-stream"] === "1") {
        res.writeHead(200, { "content-type": "application/x-ndjson" })
        res.flushHeaders()
      }
      arrived.shift()?.()
    })
    res.on("close", () => {
      closedSockets++
      closed.shift()?.()
    })
  })
  url = server.url
})

afterAll(() => server.close())

const nextRequest = () => new Promise<void>((resolve) => arrived.push(resolve))
const nextClose = () => new Promise<void>((resolve) => closed.push(resolve))

const hi: ModelRequest.ModelRequest = { model: "gemma3:4b", contents: [ModelRequest.user("hi")] }

describe.each(httpClients)("on $name", ({ http }) => {
  const layer = (stream: boolean) =>
    Ollama.layer({ url, retry: RetryPolicy.none, headers: stream ? { "x-stream": "1" } : {} }).pipe(
      Layer.provide(emulatorBase(emulator, http))
    )

  describe("ModelClient cancels", () => {
    it("generate: an aborted signal rejects with CallAborted and closes the socket", async () => {
      const client = ModelClient.make(layer(false))
      const controller = new AbortController()
      const arrival = nextRequest()
      const call = client.generate(hi, { signal: controller.signal })
      await arrival
      const socketClosed = nextClose()
      controller.abort()
      await expect(call).rejects.toMatchObject({ _tag: "CallAborted" })
      await socketClosed
      await client.dispose()
    })

    it("generate: dispose() rejects the call in flight with ClientClosed and closes the socket", async () => {
      const client = ModelClient.make(layer(false))
      const arrival = nextRequest()
      const call = client.generate(hi)
      await arrival
      const socketClosed = nextClose()
      // the handler is attached before dispose() settles the call (no unhandled rejection)
      const settled = expect(call).rejects.toMatchObject({ _tag: "ClientClosed" })
      await client.dispose()
      await settled
      await socketClosed
      await expect(client.generate(hi)).rejects.toMatchObject({ _tag: "ClientClosed" })
    })
  })

  describe("ModelClient streams cancel", () => {
    it.each(["signal", "dispose"] as const)(
      "stream: %s while the model is silent settles next() with a typed error and closes the socket",
      async (how) => {
        const client = ModelClient.make(layer(true))
        const controller = new AbortController()
        const iterator = client.stream(hi, { signal: controller.signal })[Symbol.asyncIterator]()
        const arrival = nextRequest()
        const pending = iterator.next()
        await arrival
        const socketClosed = nextClose()
        if (how === "signal") controller.abort()
        else void client.dispose()
        await expect(pending).rejects.toMatchObject({ _tag: how === "signal" ? "CallAborted" : "ClientClosed" })
        await socketClosed
        await client.dispose()
      }
    )
  })

  describe("ADK AdcLlm cancels", () => {
    const request: LlmRequest = {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      config: {},
      liveConnectConfig: {},
      toolsDict: {}
    }

    it("streaming: an abort while the model is silent settles next() and closes the socket", async () => {
      const llm = Adk.fromLayer(layer(true), { model: "gemma3:4b" })
      const controller = new AbortController()
      const generator = llm.generateContentAsync(request, true, controller.signal)
      const arrival = nextRequest()
      const pending = generator.next()
      await arrival
      const socketClosed = nextClose()
      const before = closedSockets
      controller.abort()
      expect(await pending).toEqual({ done: true, value: undefined })
      await socketClosed
      expect(closedSockets).toBe(before + 1)
      await llm.close()
    })

    it.each(
      [
        { stream: false, how: "signal", tag: "CallAborted" },
        { stream: false, how: "close", tag: "ClientClosed" },
        { stream: true, how: "close", tag: "ClientClosed" }
      ] as const
    )(
      "stream $stream: $how while the model is silent rejects next() with $tag and closes the socket",
      async ({ how, stream, tag }) => {
        const llm = Adk.fromLayer(layer(stream), { model: "gemma3:4b" })
        const controller = new AbortController()
        const generator = llm.generateContentAsync(request, stream, controller.signal)
        const arrival = nextRequest()
        const pending = generator.next()
        await arrival
        const socketClosed = nextClose()
        if (how === "signal") controller.abort()
        else void llm.close()
        await expect(pending).rejects.toMatchObject({ _tag: tag })
        await socketClosed
        // a closed model refuses further calls
        if (how === "close") {
          await expect(llm.generateContentAsync(request, stream).next()).rejects.toMatchObject({ _tag: "ClientClosed" })
        }
        await llm.close()
      }
    )
  })
})
