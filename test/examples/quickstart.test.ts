import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ModelEmulators from "../../src/testing/ModelEmulators.js"
import { useEmulator } from "../support/emulator.js"

// The README's quickstart, configured by environment variables alone (as a user would),
// against the identity emulator and a Gemini emulator that checks the access token.

const emulator = useEmulator({ env: true })

describe("README quickstart", () => {
  it("answers from Gemini with an ADC access token and no API key", async () => {
    // the public testing helper: the Gemini emulator checking tokens with the identity emulator's tokeninfo
    const models = await ModelEmulators.serve(emulator)
    const gemini = models.gemini.emulator
    const saved = { ...process.env }
    try {
      Object.assign(process.env, {
        EFFECT_ADC_MODEL_BACKEND: "gemini-vertex",
        EFFECT_ADC_MODEL_URL: models.gemini.url,
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
      await models.close()
    }
  }, 30_000)
})
