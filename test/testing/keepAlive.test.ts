import { describe, expect, it } from "@effect/vitest"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Emulator from "../../src/testing/Emulator.js"

const get = (url: string, agent: Http.Agent) =>
  new Promise<{ res: Http.IncomingMessage; socket: Net.Socket; reused: boolean }>((resolve, reject) => {
    const req = Http.get(url, { agent }, (res) => {
      res.resume()
      res.on("end", () => resolve({ res, socket: req.socket!, reused: req.reusedSocket }))
    })
    req.on("error", reject)
  })

describe("emulator servers and idle connections", () => {
  it("keep an idle connection open as Google's front ends do (610 s), and close() ends it at once", async () => {
    const emulator = await Emulator.start()
    const agent = new Http.Agent({ keepAlive: true })
    try {
      const first = await get(`${emulator.metadataUrl}/`, agent)
      expect(first.res.headers["keep-alive"]).toBe("timeout=610")
      const second = await get(`${emulator.metadataUrl}/`, agent)
      expect(second.reused).toBe(true)
      expect(second.socket).toBe(first.socket)
      const closed = new Promise<void>((resolve) => second.socket.once("close", () => resolve()))
      await emulator.close()
      await closed
      expect(second.socket.destroyed).toBe(true)
    } finally {
      agent.destroy()
      await emulator.close()
    }
  })
})
