import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { GoogleGenAI } from "@google/genai"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as GenAI from "../../src/integrations/genai.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { accessTokenPrincipal, serve } from "./support.js"

const emulator = useEmulator({ env: true })
// The Gemini server accepts only access tokens the identity emulator issued.
const gemini = GeminiEmulator.make({
  authorize: async (request) => {
    const token = /^Bearer (.+)$/.exec(request.headers["authorization"] ?? "")?.[1]
    const principal = token === undefined ? undefined : await accessTokenPrincipal(emulator, token)
    return principal === undefined
      ? GeminiEmulator.unauthenticated(token === undefined ? "CREDENTIALS_MISSING" : "ACCESS_TOKEN_EXPIRED")
      : { ok: true, principal }
  }
})
let server: { url: string; close: () => Promise<void> }
beforeAll(async () => {
  server = await serve(gemini.handler)
})
afterAll(() => server.close())

let auth: AuthClient.AuthClient
beforeEach(() => {
  gemini.reset()
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

const vertex = (options?: GenAI.Options) =>
  new GoogleGenAI({
    vertexai: true,
    project: emulator.projectId,
    location: "us-central1",
    googleAuthOptions: GenAI.googleAuthOptions(auth, options ?? { origins: [server.url] }),
    httpOptions: { baseUrl: server.url }
  })

describe("GenAI.authClient with the real @google/genai", () => {
  it("Vertex AI generateContent runs keyless on the cache: one token fetch for two calls", async () => {
    const ai = vertex()
    expect(emulator.controls.count("metadata.token")).toBe(0)
    const first = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hello vertex" })
    const second = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "and again" })
    expect(first.text).toBe("Echo: hello vertex")
    expect(second.text).toBe("Echo: and again")
    expect(gemini.requests.map((r) => [r.flavor, r.principal])).toEqual([
      ["vertex", emulator.serviceAccount.email],
      ["vertex", emulator.serviceAccount.email]
    ])
    expect(gemini.requests[0]?.path).toBe(
      `/v1beta1/projects/${emulator.projectId}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent`
    )
    expect(emulator.controls.count("metadata.token")).toBe(1)
  })

  it("streams on the Gemini API path with a quota project and no API key", async () => {
    const ai = new GoogleGenAI({
      googleAuthOptions: GenAI.googleAuthOptions(auth, {
        origins: [server.url],
        target: { quotaProject: "billing-project" }
      }),
      httpOptions: { baseUrl: server.url }
    })
    let text = ""
    for await (
      const chunk of await ai.models.generateContentStream({
        model: "gemini-2.5-flash",
        contents: "tell me about robins"
      })
    ) {
      text += chunk.text ?? ""
    }
    expect(text).toBe("Echo: tell me about robins")
    const request = gemini.requests[0]!
    expect(request.flavor).toBe("api")
    expect(request.headers["x-goog-user-project"]).toBe("billing-project")
    expect(request.headers["x-goog-api-key"]).toBeUndefined()
  })

  it("refuses to send the token to an origin that is not a Google API host", async () => {
    const ai = vertex({})
    const error = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain(`refusing to send a Google access token to ${server.url}`)
    expect(gemini.requests).toHaveLength(0)
    expect(emulator.controls.count("metadata.token")).toBe(0)
  })

  it("the client works for google-auth-library callers too: getAccessToken and request", async () => {
    const client = new GenAI.AdcAuthClient(auth, { origins: [server.url] })
    const { token } = await client.getAccessToken()
    expect(await accessTokenPrincipal(emulator, token ?? "")).toBe(emulator.serviceAccount.email)
    const response = await client.request<{ candidates: ReadonlyArray<unknown> }>({
      url: `${server.url}/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent`,
      method: "POST",
      data: { contents: [{ role: "user", parts: [{ text: "via gaxios" }] }] }
    })
    expect(response.status).toBe(200)
    expect(gemini.requests[0]?.principal).toBe(emulator.serviceAccount.email)
  })
})
