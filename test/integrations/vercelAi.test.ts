import { createGoogleVertex } from "@ai-sdk/google-vertex"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { APICallError, generateText, streamText } from "ai"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import * as GenAI from "../../src/integrations/genai.js"
import { useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

// The Vercel AI SDK (ai 7) on our tokens, with its real providers, against the emulators:
// @ai-sdk/openai-compatible on the vLLM emulator behind the Cloud Run front door (ID
// token through SigningFetch), @ai-sdk/google-vertex on the Gemini emulator, which admits
// only access tokens the identity emulator issued (checked with its tokeninfo).

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)

let auth: AuthClient.AuthClient
beforeEach(() => {
  models.openAICompatible.emulator.reset()
  models.gemini.emulator.reset()
  auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
})
afterEach(() => auth.close())

/** The claims of the bearer JWT (an ID token) in `header`. */
const claimsOf = (header: string | undefined): Record<string, unknown> | undefined => {
  const payload = header?.replace(/^Bearer\s+/i, "").split(".")[1]
  if (payload === undefined) return undefined
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>
}

const text = async (stream: AsyncIterable<string>) => {
  let all = ""
  for await (const delta of stream) all += delta
  return all
}

describe("Vercel AI SDK: @ai-sdk/openai-compatible with SigningFetch on vLLM on Cloud Run", () => {
  const vllm = () =>
    createOpenAICompatible({
      name: "vllm",
      baseURL: `${models.openAICompatible.url}/v1`,
      fetch: SigningFetch.make(auth, { targets: { [models.openAICompatible.url]: "id" } })
    })

  it("generateText and streamText come back, each request carrying an ID token for the service", async () => {
    const provider = vllm()
    const generated = await generateText({ model: provider("google/gemma-3-4b-it"), prompt: "hello vllm" })
    expect(generated.text).toBe("Echo: hello vllm")
    const streamed = streamText({
      model: provider("google/gemma-3-4b-it"),
      prompt: "tell me about robins in the garden"
    })
    expect(await text(streamed.textStream)).toBe("Echo: tell me about robins in the garden")
    const requests = models.openAICompatible.emulator.requests
    expect(requests).toHaveLength(2)
    for (const request of requests) {
      const claims = claimsOf(request.headers["authorization"])
      expect(claims?.["aud"]).toBe(models.openAICompatible.url)
      expect(claims?.["email"]).toBe(emulator.serviceAccount.email)
    }
    expect(emulator.controls.count("metadata.identity")).toBe(1)
  })

  it("an expired token is replaced: the call after the expiry succeeds with a fresh ID token", async () => {
    const provider = vllm()
    await generateText({ model: provider("google/gemma-3-4b-it"), prompt: "before" })
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    try {
      const after = await generateText({ model: provider("google/gemma-3-4b-it"), prompt: "after expiry" })
      expect(after.text).toBe("Echo: after expiry")
      expect(emulator.controls.count("metadata.identity")).toBe(2)
    } finally {
      emulator.controls.setClockOffset(0)
    }
  })
})

describe("Vercel AI SDK: @ai-sdk/google-vertex with our access tokens on Gemini (Vertex AI)", () => {
  const location = "us-central1"
  const vertex = (options: { readonly signing?: boolean } = {}) =>
    createGoogleVertex({
      project: emulator.projectId,
      location,
      baseURL: `${models.gemini.url}/v1beta1/projects/${emulator.projectId}/locations/${location}/publishers/google`,
      googleAuthOptions: { authClient: new GenAI.AdcAuthClient(auth) },
      ...(options.signing === true
        ? { fetch: SigningFetch.make(auth, { targets: { [models.gemini.url]: "access" } }) }
        : {})
    })

  it("generateText and streamText come back, each request carrying an access token of the service account", async () => {
    const provider = vertex()
    const generated = await generateText({ model: provider("gemini-2.5-flash"), prompt: "hello vertex" })
    expect(generated.text).toBe("Echo: hello vertex")
    const streamed = streamText({ model: provider("gemini-2.5-flash"), prompt: "tell me about robins in the garden" })
    expect(await text(streamed.textStream)).toBe("Echo: tell me about robins in the garden")
    const requests = models.gemini.emulator.requests
    expect(requests.map((r) => [r.flavor, r.model, r.method, r.principal])).toEqual([
      ["vertex", "gemini-2.5-flash", "generateContent", emulator.serviceAccount.email],
      ["vertex", "gemini-2.5-flash", "streamGenerateContent", emulator.serviceAccount.email]
    ])
    // an access token (the emulator's are ya29.…), not an ID token (a JWT, eyJ…)
    for (const request of requests) expect(request.headers["authorization"]).toMatch(/^Bearer ya29\./)
    expect(emulator.controls.count("metadata.token")).toBe(1)
  })

  it("the token is read from the cache per request, never frozen: an invalidated token is replaced", async () => {
    const provider = vertex()
    await generateText({ model: provider("gemini-2.5-flash"), prompt: "one" })
    await auth.invalidate({ kind: "access" })
    await generateText({ model: provider("gemini-2.5-flash"), prompt: "two" })
    expect(models.gemini.emulator.requests.map((r) => r.principal)).toEqual([
      emulator.serviceAccount.email,
      emulator.serviceAccount.email
    ])
    // the second request asked the cache again, which fetched anew after the invalidation
    expect(emulator.controls.count("metadata.token")).toBe(2)
  })

  it("without SigningFetch, a token the server rejects as expired surfaces as the AI SDK's 401 APICallError", async () => {
    const provider = vertex()
    await generateText({ model: provider("gemini-2.5-flash"), prompt: "before" })
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    try {
      const error = await generateText({ model: provider("gemini-2.5-flash"), prompt: "after expiry" }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(APICallError.isInstance(error)).toBe(true)
      expect(APICallError.isInstance(error) ? error.statusCode : undefined).toBe(401)
      expect(String(error)).not.toMatch(/ya29\./)
    } finally {
      emulator.controls.setClockOffset(0)
    }
  })

  it("with SigningFetch as fetch, a token the server rejects as expired is replaced and the call replayed", async () => {
    const provider = vertex({ signing: true })
    await generateText({ model: provider("gemini-2.5-flash"), prompt: "before" })
    emulator.controls.setClockOffset(2 * 3600 * 1000)
    try {
      const after = await generateText({ model: provider("gemini-2.5-flash"), prompt: "after expiry" })
      expect(after.text).toBe("Echo: after expiry")
      expect(models.gemini.emulator.requests.map((r) => r.principal)).toEqual([
        emulator.serviceAccount.email,
        undefined, // the expired token, rejected
        emulator.serviceAccount.email
      ])
      expect(emulator.controls.count("metadata.token")).toBe(2)
    } finally {
      emulator.controls.setClockOffset(0)
    }
  })
})
