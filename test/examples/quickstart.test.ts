import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import { useEmulator } from "../support/emulator.js"

// The README's quickstart, configured by environment variables alone (as a user would),
// against the identity emulator and a Gemini emulator that checks the access token.

const emulator = useEmulator({ env: true })

describe("README quickstart", () => {
  it("answers from Gemini with an ADC access token and no API key", async () => {
    const gemini = GeminiEmulator.make({
      authorize: GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)
    })
    const server = Http.createServer(gemini.handler)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const saved = { ...process.env }
    try {
      Object.assign(process.env, {
        EFFECT_ADC_MODEL_BACKEND: "gemini-vertex",
        EFFECT_ADC_MODEL_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        GOOGLE_CLOUD_LOCATION: "us-central1",
        GEMINI_API_KEY: "AIza-must-never-be-sent"
      })
      delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
      const quickstart = await import("../../examples/quickstart.js")
      const text = await Effect.runPromise(Effect.provide(quickstart.program, quickstart.ModelLive))
      expect(text.length).toBeGreaterThan(0)
      expect(gemini.requests).toHaveLength(1)
      const request = gemini.requests[0]!
      expect(request.flavor).toBe("vertex")
      expect(request.path).toContain("/projects/")
      expect(request.path).toContain("/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
      // The emulator admitted the token as the metadata server's service account.
      expect(request.principal).toMatch(/@/)
      expect(JSON.stringify(request.headers)).not.toContain("AIza-must-never-be-sent")
      expect(request.path).not.toContain("key=")
    } finally {
      process.env = saved
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }, 30_000)
})
