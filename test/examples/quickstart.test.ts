import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as ModelEmulators from "../../src/testing/ModelEmulators.js"
import { noCredentials } from "../support/cli.js"
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

describe("README quickstart with no credentials", () => {
  it("prints one short error naming the fix and exits with code 1", async () => {
    const example = fileURLToPath(new URL("../../examples/quickstart.ts", import.meta.url))
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", example], {
        env: {
          PATH: process.env["PATH"] ?? "",
          GOOGLE_CLOUD_PROJECT: "my-project",
          ...noCredentials("effect-adc-qs-")
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk))
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk))
      child.on("close", (code) => resolve({ code, stdout, stderr }))
    })
    const output = `${result.stdout}${result.stderr}`.trim()
    expect(result.code).toBe(1)
    // runMain's one log entry: the level line, the message, one frame; no FiberFailure dump
    expect(output.split("\n").length).toBeLessThanOrEqual(4)
    expect(output).toMatch(/ERROR/)
    expect(output).toContain("CredentialsNotFound: No Application Default Credentials were found")
    expect(output).toContain("gcloud auth application-default login")
    expect(output).not.toMatch(/FiberFailure|\[cause\]|node:internal/)
  })
})
