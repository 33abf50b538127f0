import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Loopback from "../../src/testing/Loopback.js"
import { useModelEmulators } from "../model/support.js"
import { bin } from "../support/cli.js"
import { useEmulator } from "../support/emulator.js"
import { at, jsonArray, jsonObject } from "../support/json.js"

// `effect-adc chat` as a subprocess: stdin piped, as if on Cloud Run (the emulator's
// metadata server through GCE_METADATA_HOST), the model servers on loopback.

const emulator = useEmulator()
// the public testing helper: Gemini on loopback, Ollama and vLLM behind the Cloud Run front door
const models = useModelEmulators(emulator, { names: { ollama: "gemma", openAICompatible: "vllm" } })
const empty = mkdtempSync(join(tmpdir(), "effect-adc-chat-"))

let signed: Loopback.LoopbackServer

/** A Gemini API stand-in that answers every stream with a thought-signed text part, and records bodies. */
const signedBodies: Array<unknown> = []
let signedUrl = ""

beforeAll(async () => {
  // hand-written framing: its own handler on the public loopback server
  signed = await Loopback.serve((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      signedBodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      res.writeHead(200, { "content-type": "text/event-stream" })
      const event = (parts: Array<unknown>, last: boolean) =>
        `data: ${
          JSON.stringify({
            candidates: [{ content: { role: "model", parts }, ...(last ? { finishReason: "STOP" } : {}) }]
          })
        }\r\n\r\n`
      res.write(event([{ text: "Thought about it. ", thought: true }], false))
      res.write(event([{ text: "Hello " }], false))
      res.end(event([{ text: "world", thoughtSignature: "c2lnbmF0dXJlLTE=" }], true))
    })
  })
  signedUrl = signed.url
})

afterAll(async () => {
  await signed.close()
})

beforeEach(() => {
  models.gemini.emulator.reset()
  models.ollama.emulator.reset()
  models.openAICompatible.emulator.reset()
  signedBodies.length = 0
})

interface Chat {
  readonly say: (line: string) => void
  /** Resolves once stdout (or stderr) contains `text`; rejects if the process exits first. */
  readonly waitFor: (text: string, stream?: "stdout" | "stderr") => Promise<void>
  readonly end: () => Promise<{ code: number | null; stdout: string; stderr: string }>
  /** The result once the process exits by itself, stdin still open. */
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>
}

const chat = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Chat => {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [bin, "chat", ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...emulator.env, ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  const out = { stdout: "", stderr: "" }
  const listeners = new Set<() => void>()
  child.stdout.on("data", (c: Buffer) => {
    out.stdout += c.toString()
    for (const l of listeners) l()
  })
  child.stderr.on("data", (c: Buffer) => {
    out.stderr += c.toString()
    for (const l of listeners) l()
  })
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  child.stdin.on("error", () => {}) // a line written after the chat ended (EPIPE)
  return {
    say: (line) => child.stdin.write(`${line}\n`),
    waitFor: (text, stream = "stdout") =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out[stream].includes(text)) {
            listeners.delete(check)
            resolve()
          }
        }
        listeners.add(check)
        check()
        void exited.then(() => {
          if (!out[stream].includes(text)) {
            reject(new Error(`exited without ${JSON.stringify(text)}: ${JSON.stringify(out)}`))
          }
        })
      }),
    end: async () => {
      child.stdin.end()
      const code = await exited
      return { code, ...out }
    },
    exited: exited.then((code) => ({ code, ...out }))
  }
}

describe("effect-adc chat", () => {
  it("streams answers from Gemini on Vertex AI and sends the history on the next turn", async () => {
    const session = chat([
      "--model",
      "gemini-2.5-flash",
      "--backend",
      "gemini-vertex",
      "--url",
      models.gemini.url,
      "--system",
      "Be brief."
    ])
    session.say("hello there")
    await session.waitFor("Echo: hello there\n")
    session.say("and a second question")
    await session.waitFor("Echo: and a second question\n")
    const result = await session.end()
    expect(result.code).toBe(0)
    expect(result.stdout).toBe("Echo: hello there\nEcho: and a second question\n")
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/ya29\.|eyJ/)

    expect(models.gemini.emulator.requests.map((r) => [r.flavor, r.method, r.path.endsWith("?alt=sse")])).toEqual([
      ["vertex", "streamGenerateContent", true],
      ["vertex", "streamGenerateContent", true]
    ])
    // keyless: the endpoint verified an access token of the metadata server's account
    expect(models.gemini.emulator.requests.every((r) => r.principal === emulator.serviceAccount.email)).toBe(true)
    expect(models.gemini.emulator.requests.some((r) => r.headers["x-goog-api-key"] !== undefined)).toBe(false)
    const second = jsonObject(models.gemini.emulator.requests[1]!.body)
    expect(second["contents"]).toEqual([
      { role: "user", parts: [{ text: "hello there" }] },
      { role: "model", parts: [{ text: "Echo: hello there" }] },
      { role: "user", parts: [{ text: "and a second question" }] }
    ])
    expect(second["systemInstruction"]).toMatchObject({ parts: [{ text: "Be brief." }] })
  }, 60_000)

  it("keeps Gemini's thought signature verbatim in the history", async () => {
    const session = chat(["--model", "gemini-2.5-flash", "--backend", "gemini-api", "--url", signedUrl])
    session.say("first")
    await session.waitFor("Hello world\n")
    session.say("second")
    await session.waitFor("Hello world\nHello world\n")
    const result = await session.end()
    expect(result.code).toBe(0)
    expect(signedBodies).toHaveLength(2)
    expect(at(signedBodies[1], "contents")).toEqual([
      { role: "user", parts: [{ text: "first" }] },
      {
        role: "model",
        parts: [
          { text: "Thought about it. ", thought: true },
          { text: "Hello " },
          { text: "world", thoughtSignature: "c2lnbmF0dXJlLTE=" }
        ]
      },
      { role: "user", parts: [{ text: "second" }] }
    ])
  }, 60_000)

  it("Gemma on private Cloud Run through the Ollama backend, with an ID token", async () => {
    const session = chat(["--model", "gemma3:4b", "--backend", "ollama", "--url", models.ollama.url])
    session.say("one two three four five six")
    await session.waitFor("Echo: one two three four five six\n")
    session.say("again")
    await session.waitFor("Echo: again\n")
    const result = await session.end()
    expect(result.code).toBe(0)
    expect(emulator.controls.count("cloudrun:gemma")).toBe(2)
    expect(emulator.controls.log.filter((e) => e.endpoint === "cloudrun:gemma").map((e) => e.principal)).toEqual([
      emulator.serviceAccount.email,
      emulator.serviceAccount.email
    ])
    const second = jsonObject(models.ollama.emulator.requests.at(-1)!.body)
    expect(second["stream"]).not.toBe(false)
    expect(jsonArray(second["messages"]).map((m) => [at(m, "role"), at(m, "content")])).toEqual([
      ["user", "one two three four five six"],
      ["assistant", "Echo: one two three four five six"],
      ["user", "again"]
    ])
  }, 60_000)

  it("a rate-limited turn: one typed line on stderr, the chat goes on, exit 5", async () => {
    models.gemini.emulator.fail({ status: 429, retryDelay: "0s" }, 4) // the first attempt and the default policy's 3 retries
    const session = chat(["--model", "gemini-2.5-flash", "--backend", "gemini-vertex", "--url", models.gemini.url])
    session.say("first")
    await session.waitFor("effect-adc: RateLimited: ", "stderr")
    session.say("second")
    await session.waitFor("Echo: second\n")
    const result = await session.end()
    expect(result.code).toBe(5)
    expect(result.stdout).toBe("Echo: second\n")
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^effect-adc: RateLimited: .*quota/)
    // the failed turn is not in the history
    expect(at(models.gemini.emulator.requests.at(-1)!.body, "contents")).toEqual([
      { role: "user", parts: [{ text: "second" }] }
    ])
  }, 60_000)

  it("an unknown model: NotFound in one line, exit 5", async () => {
    const session = chat(["--model", "no-such-model", "--backend", "gemini-vertex", "--url", models.gemini.url])
    session.say("hello")
    await session.waitFor("effect-adc: NotFound: ", "stderr")
    const result = await session.end()
    expect(result.code).toBe(5)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("no-such-model")
  }, 60_000)

  it("an unknown --backend: one line, exit 1, before any credential lookup", async () => {
    const result = await chat(["--model", "m", "--backend", "bedrock"]).end()
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("gemini-vertex, gemini-api, ollama, openai-compatible")
    expect(emulator.controls.count("metadata.token")).toBe(0)
  }, 60_000)

  it("ollama without a URL: one line naming the flag and variable, exit 1", async () => {
    const result = await chat(["--model", "gemma3:4b", "--backend", "ollama"]).end()
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("the ollama backend needs its Cloud Run URL: pass --url")
    expect(result.stderr).toContain("EFFECT_ADC_OLLAMA_URL or EFFECT_ADC_MODEL_URL")
  }, 60_000)

  it("the backend and URL from the environment when no flag names them", async () => {
    const session = chat(["--model", "gemma3:4b"], {
      EFFECT_ADC_MODEL_BACKEND: "ollama",
      EFFECT_ADC_MODEL_URL: models.ollama.url
    })
    session.say("from the environment")
    await session.waitFor("Echo: from the environment\n")
    const result = await session.end()
    expect(result.code).toBe(0)
    expect(emulator.controls.count("cloudrun:gemma")).toBe(1)
  }, 60_000)

  it("no credentials: exit 2 with the fix", async () => {
    const result = await chat(["--model", "gemini-2.5-flash", "--url", models.gemini.url], {
      GCE_METADATA_HOST: "127.0.0.1:1",
      GCE_METADATA_IP: "127.0.0.1:1",
      METADATA_SERVER_DETECTION: "none",
      HOME: empty,
      CLOUDSDK_CONFIG: empty
    }).end()
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("gcloud auth application-default login")
    expect(models.gemini.emulator.requests).toHaveLength(0)
  }, 60_000)

  it("vLLM on private Cloud Run through the OpenAI-compatible backend", async () => {
    const session = chat([
      "--model",
      "google/gemma-3-4b-it",
      "--backend",
      "openai-compatible",
      "--url",
      models.openAICompatible.url
    ])
    session.say("hello vllm")
    await session.waitFor("Echo: hello vllm\n")
    const result = await session.end()
    expect(result.code).toBe(0)
    expect(emulator.controls.count("cloudrun:vllm")).toBe(1)
  }, 60_000)

  it("an invalid EFFECT_ADC_MODEL_URL: one line naming the variable, exit 1", async () => {
    const result = await chat(["--model", "gemma3:4b", "--backend", "ollama"], { EFFECT_ADC_MODEL_URL: "not a url" })
      .end()
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toMatch(/^effect-adc: invalid model configuration: EFFECT_ADC_MODEL_URL is invalid/)
  }, 60_000)

  it(
    "flags beat variables: --url over EFFECT_ADC_OLLAMA_URL, --backend over EFFECT_ADC_MODEL_ROUTES; /exit ends it",
    async () => {
      // every variable points at a closed loopback port: only the flags can reach Gemma
      const session = chat(["--model", "gemma3:4b", "--backend", "ollama", "--url", models.ollama.url], {
        EFFECT_ADC_MODEL_ROUTES: "*=openai-compatible",
        EFFECT_ADC_OPENAI_COMPATIBLE_URL: "http://127.0.0.1:1",
        EFFECT_ADC_OLLAMA_URL: "http://127.0.0.1:1"
      })
      session.say("flags win")
      await session.waitFor("Echo: flags win\n")
      session.say("/exit")
      session.say("never sent")
      const result = await session.exited
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe("Echo: flags win\n")
      expect(emulator.controls.count("cloudrun:gemma")).toBe(1)
      expect(models.ollama.emulator.requests).toHaveLength(1)
    },
    60_000
  )

  it("a per-backend URL variable alone is enough (EFFECT_ADC_OLLAMA_URL)", async () => {
    const session = chat(["--model", "gemma3:4b"], {
      EFFECT_ADC_MODEL_BACKEND: "ollama",
      EFFECT_ADC_OLLAMA_URL: models.ollama.url
    })
    session.say("per backend")
    await session.waitFor("Echo: per backend\n")
    const result = await session.end()
    expect(result.code, result.stderr).toBe(0)
    expect(emulator.controls.count("cloudrun:gemma")).toBe(1)
  }, 60_000)

  it(
    "with a Router (EFFECT_ADC_MODEL_ROUTES) every turn stays in the history: Gemma via the ollama route",
    async () => {
      const session = chat(["--model", "gemma3:4b"], {
        EFFECT_ADC_MODEL_ROUTES: "gemini-*=gemini-vertex,gemma*=ollama",
        EFFECT_ADC_OLLAMA_URL: models.ollama.url
      })
      session.say("first")
      await session.waitFor("Echo: first\n")
      session.say("second")
      await session.waitFor("Echo: second\n")
      session.say("third")
      await session.waitFor("Echo: third\n")
      const result = await session.end()
      expect(result.code, result.stderr).toBe(0)
      const last = jsonObject(models.ollama.emulator.requests.at(-1)!.body)
      expect(jsonArray(last["messages"]).map((m) => [at(m, "role"), at(m, "content")])).toEqual([
        ["user", "first"],
        ["assistant", "Echo: first"],
        ["user", "second"],
        ["assistant", "Echo: second"],
        ["user", "third"]
      ])
    },
    60_000
  )
})
