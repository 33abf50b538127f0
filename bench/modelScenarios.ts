/**
 * Model benchmarks (scenarios 4 and 5): ours (`ModelService` on `UndiciHttpClient.layer`,
 * as every documented Node setup wires it, and in scenario 4 also on
 * `NodeHttpClient.layerUndici` and `FetchHttpClient`; Gemini on the Vertex AI paths)
 * against raw `fetch` and the vendor SDKs (@google/genai, ollama, openai), same server,
 * same prompt, same run. The server runs in its own process (`modelServers.ts`); the identity
 * emulator (metadata server) runs here and every client is warm before timing starts.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { GoogleGenAI } from "@google/genai"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { Ollama as OllamaClient } from "ollama"
import OpenAI from "openai"
import * as AuthClient from "../src/auth/AuthClient.js"
import * as AuthService from "../src/auth/AuthService.js"
import * as UndiciHttpClient from "../src/http/UndiciHttpClient.js"
import * as GenAI from "../src/integrations/genai.js"
import * as OllamaAuth from "../src/integrations/ollama.js"
import * as OpenAIAuth from "../src/integrations/openai.js"
import * as GeminiVertex from "../src/model/gemini/GeminiVertex.js"
import * as ModelRequest from "../src/model/ModelRequest.js"
import { ModelService } from "../src/model/ModelService.js"
import * as Ollama from "../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../src/model/openai/OpenAICompatible.js"
import { type Row, withEmulator } from "./authScenarios.js"
import { geminiEvents, ollamaLines, openaiEvents, startModelServer } from "./modelServers.js"

const model = "gemini-2.5-flash"
const prompt = "Summarise the benefits of keyless authentication in two sentences."

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** `n` calls of `one`, at most `concurrency` in flight. */
const pool = async (n: number, concurrency: number, one: () => Promise<unknown>) => {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      await one()
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
}

/** A contender: runs `n` calls with `concurrency` in flight (1 = sequential). */
type Runner = (n: number, concurrency: number) => Promise<void>

/** Per contender, the median rate over `rounds` rounds (contender order rotates per round). */
const race = async (
  contenders: ReadonlyArray<readonly [string, Runner]>,
  n: number,
  concurrency: number,
  rounds: number
): Promise<Map<string, number>> => {
  const rates = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const [name, run] = contenders[(k + round) % contenders.length]!
      const t = performance.now()
      await run(n, concurrency)
      rates.get(name)!.push(n / ((performance.now() - t) / 1000))
    }
  }
  return new Map([...rates].map(([name, xs]) => [name, median(xs)]))
}

const fixed = (x: number, digits = 0) => x.toFixed(digits)

/** The difference in wall time per sequential call between two rates. */
const perCall = (ours: number, peer: number) => {
  const ms = 1000 / ours - 1000 / peer
  return `${ms >= 0 ? "+" : "−"}${Math.abs(ms).toFixed(2)} ms/call`
}

/** The HttpClients ours runs on: the documented one (`UndiciHttpClient`), and the platform's two. */
const httpLayers = {
  fetch: FetchHttpClient.layer,
  "platform-undici": NodeHttpClient.layerUndici,
  undici: UndiciHttpClient.layer
} as const

const base = (
  emulator: { projectId: string; clientOptions: AuthService.Options["clientOptions"] },
  http: keyof typeof httpLayers = "fetch"
) =>
  Layer.mergeAll(
    AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }),
    httpLayers[http]
  ).pipe(Layer.orDie)

const project = "emulator-project"
const location = "us-central1"

/** Ours on the Vertex AI paths of the server. */
const vertexLayer = (url: string, httpSpans?: boolean) =>
  GeminiVertex.layer({ project, location, baseUrl: url, origins: [url], httpSpans })

/** Vertex paths for everyone (the Gemini API mode of @google/genai warns about a missing API key). */
const vertexUrl = (url: string, m: string, method: string) =>
  `${url}/v1/projects/${project}/locations/${location}/publishers/google/models/${m}:${method}`

/** @google/genai on Vertex AI, on our token cache (the same warm token as ours and raw). */
const vertexGenAI = (auth: AuthClient.AuthClient, url: string) =>
  new GoogleGenAI({
    vertexai: true,
    project,
    location,
    googleAuthOptions: GenAI.googleAuthOptions(auth, { origins: [url] }),
    httpOptions: { baseUrl: url }
  })

/**
 * 4. Request overhead: `rounds` rounds of `n` generate calls per contender, sequential
 * and `concurrency` in flight → the median requests/s of ours vs raw fetch + JSON.parse
 * vs @google/genai `generateContent`. Many short rounds, the contenders' order rotating,
 * so a slow stretch of a shared 2-core machine falls on every contender alike.
 */
export const requestOverhead = (options: {
  readonly n: number
  readonly concurrency: number
  readonly rounds: number
}): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    const server = await startModelServer()
    const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    const runtime = ManagedRuntime.make(vertexLayer(server.url).pipe(Layer.provide(base(emulator))))
    const undici = ManagedRuntime.make(vertexLayer(server.url).pipe(Layer.provide(base(emulator, "undici"))))
    const platformUndici = ManagedRuntime.make(
      vertexLayer(server.url).pipe(Layer.provide(base(emulator, "platform-undici")))
    )
    const undiciQuiet = ManagedRuntime.make(
      vertexLayer(server.url, false).pipe(Layer.provide(base(emulator, "undici")))
    )
    try {
      const request: ModelRequest.ModelRequest = { model, contents: [ModelRequest.user(prompt)] }
      const expected = `Echo: ${prompt}`
      const oursOn = (rt: typeof runtime): Runner => (n, concurrency) =>
        rt.runPromise(Effect.flatMap(ModelService, (service) =>
          Effect.forEach(
            Array.from({ length: n }),
            () =>
              Effect.flatMap(
                service.generate(request),
                (r) => r.text === expected ? Effect.void : Effect.dieMessage(`ours: unexpected answer ${r.text}`)
              ),
            { concurrency, discard: true }
          )))

      const headers = { ...(await auth.headers({ kind: "access" })), "content-type": "application/json" }
      const url = vertexUrl(server.url, model, "generateContent")
      const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: prompt }] }] })
      const rawOne = async () => {
        const response = await fetch(url, { method: "POST", headers, body })
        const json = JSON.parse(await response.text()) as {
          candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }>
        }
        if (json.candidates?.[0]?.content?.parts?.[0]?.text !== expected) throw new Error("raw: unexpected answer")
      }
      const raw: Runner = (n, concurrency) => pool(n, concurrency, rawOne)

      const ai = vertexGenAI(auth, server.url)
      const genaiOne = async () => {
        const response = await ai.models.generateContent({ model, contents: prompt })
        if (response.text !== expected) throw new Error(`genai: unexpected answer ${response.text}`)
      }
      const genai: Runner = (n, concurrency) => pool(n, concurrency, genaiOne)

      const contenders = [
        ["ours", oursOn(runtime)],
        ["ours-undici", oursOn(undici)],
        ["ours-platform-undici", oursOn(platformUndici)],
        ["ours-undici-nospans", oursOn(undiciQuiet)],
        ["raw", raw],
        ["genai", genai]
      ] as const
      // warm-up: connections, JIT, token caches
      for (const [, run] of contenders) await run(Math.min(50, options.n), 1)

      const rows: Array<Row> = []
      const figures: Record<string, number> = {}
      for (const concurrency of [1, options.concurrency]) {
        const rates = await race(contenders, options.n, concurrency, options.rounds)
        const label = concurrency === 1 ? "sequential" : `${concurrency} in flight`
        const mode = concurrency === 1 ? "seq" : String(concurrency)
        for (
          const [name, key] of [
            ["ours", "fetch"],
            ["ours-undici", "undici"],
            ["ours-platform-undici", "platform_undici"],
            ["ours-undici-nospans", "undici_nospans"],
            ["raw", "raw_fetch"],
            ["genai", "genai"]
          ] as const
        ) {
          const rate = rates.get(name)!
          figures[`p4.${key}_${mode}_rps`] = Number(rate.toFixed(1))
          figures[`p4.${key}_${mode}_ms_per_call`] = Number((1000 / rate).toFixed(4))
        }
        const peers = [["raw", "raw fetch + JSON.parse"], ["genai", "@google/genai generateContent"]] as const
        const ourClients = [
          ["ours", "FetchHttpClient"],
          ["ours-undici", "UndiciHttpClient.layer"],
          ["ours-platform-undici", "NodeHttpClient.layerUndici"],
          ["ours-undici-nospans", "UndiciHttpClient, httpSpans: false"]
        ] as const
        for (const [ours, client] of ourClients) {
          const o = rates.get(ours)!
          for (const [peer, peerName] of peers) {
            const p = rates.get(peer)!
            rows.push({
              scenario: "request overhead",
              measure: `${options.rounds} × ${options.n} generate calls, ${label}, ours on ${client} → req/s`,
              ours: fixed(o),
              peer: fixed(p),
              peerName,
              ratio: `${(o / p).toFixed(2)}x (ours/peer)${concurrency === 1 ? `, ${perCall(o, p)}` : ""}`
            })
          }
        }
      }
      // the goals' ratios (issue 14): rates against genai, time per call against raw fetch
      const ratio = (a: string, b: string) => Number((figures[a]! / figures[b]!).toFixed(3))
      figures["p4.undici_vs_genai_seq"] = ratio("p4.undici_seq_rps", "p4.genai_seq_rps")
      figures[`p4.undici_vs_genai_${options.concurrency}`] = ratio(
        `p4.undici_${options.concurrency}_rps`,
        `p4.genai_${options.concurrency}_rps`
      )
      figures["p4.undici_vs_raw_fetch_seq_time"] = ratio("p4.undici_seq_ms_per_call", "p4.raw_fetch_seq_ms_per_call")
      figures["p4.undici_nospans_vs_raw_fetch_seq_time"] = ratio(
        "p4.undici_nospans_seq_ms_per_call",
        "p4.raw_fetch_seq_ms_per_call"
      )
      rows.push({
        scenario: "request overhead",
        measure: "goals: undici/genai seq ≥ 1.0, 16 ≥ 1.1; time/call vs raw fetch ≤ 1.15 (≤ 1.1 no spans)",
        ours: `${figures["p4.undici_vs_genai_seq"]}x / ${figures[`p4.undici_vs_genai_${options.concurrency}`]}x`,
        peer: `${figures["p4.undici_vs_raw_fetch_seq_time"]}x / ${figures["p4.undici_nospans_vs_raw_fetch_seq_time"]}x`,
        peerName: "time per call vs raw fetch (spans / no spans)",
        ratio: "",
        figures
      })
      return rows
    } finally {
      await runtime.dispose()
      await undici.dispose()
      await platformUndici.dispose()
      await undiciQuiet.dispose()
      await auth.close()
      await server.close()
    }
  })

/** The chunks of a body, read with its reader. */
const chunksOf = async function*(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader()
  while (true) {
    const { done, value } = await reader.read()
    if (done) return
    yield value
  }
}

const blankLine = /\r?\n\r?\n/

/** Splits SSE text into events (blank-line separated) and parses each `data:` line. */
const sseEvents = async function*(
  body: ReadableStream<Uint8Array>,
  json: (data: string) => boolean = () => true
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const bytes of chunksOf(body)) {
    buffer += decoder.decode(bytes, { stream: true })
    let end: RegExpExecArray | null
    while ((end = blankLine.exec(buffer)) !== null) {
      const event = buffer.slice(0, end.index)
      buffer = buffer.slice(end.index + end[0].length)
      for (const line of event.split(/\r?\n/)) {
        if (line.startsWith("data:") && json(line.slice(5).trim())) yield JSON.parse(line.slice(5))
      }
    }
  }
}

/** NDJSON lines, each parsed. */
const ndjsonLines = async function*(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const bytes of chunksOf(body)) {
    buffer += decoder.decode(bytes, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      if (line.trim() !== "") yield JSON.parse(line)
    }
  }
}

/** A stream contender: reads one whole stream, returns how many chunks carried text. */
type Reader = () => Promise<number>

/** Every order of `0 … n-1`. */
const permutations = (n: number): Array<Array<number>> =>
  n <= 1
    ? [[0]]
    : permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]))

/**
 * Each contender's median time over `rounds` rounds. The rounds go through every order
 * of the contenders in turn, so that each follows each other one equally often within
 * a round (a rotation put the slowest peer, @google/genai, before the hand parser in two
 * rounds of three and before ours in one).
 */
const streamRace = async (contenders: ReadonlyArray<readonly [string, Reader]>, expected: number, rounds: number) => {
  const times = new Map<string, Array<number>>(contenders.map(([name]) => [name, []]))
  const orders = permutations(contenders.length)
  for (let round = 0; round < rounds; round++) {
    for (const index of orders[round % orders.length]!) {
      const [name, read] = contenders[index]!
      const t = performance.now()
      const chunks = await read()
      const ms = performance.now() - t
      if (chunks !== expected) throw new Error(`${name}: ${chunks} text chunks, expected ${expected}`)
      times.get(name)!.push(ms)
    }
  }
  return new Map([...times].map(([name, xs]) => [name, median(xs)]))
}

/**
 * 5. Streaming: one long stream of `chunks` chunks → chunks/s and MB/s. Gemini SSE: ours
 * (`ModelService.stream`, GeminiVertex) vs @google/genai `generateContentStream` vs raw
 * fetch + manual SSE parse. Ollama NDJSON: ours (`ModelService.stream`, Ollama) vs the
 * `ollama` client (on our signing fetch) vs raw fetch + line split.
 */
export const streaming = (options: { readonly chunks: number; readonly rounds: number }): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    const server = await startModelServer()
    const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    // ours as every documented setup wires it: UndiciHttpClient.layer
    const layers = base(emulator, "undici")
    const gemini = ManagedRuntime.make(
      vertexLayer(server.url).pipe(Layer.provide(layers))
    )
    const ollama = ManagedRuntime.make(Ollama.layer({ url: server.url }).pipe(Layer.provide(layers)))
    const openai = ManagedRuntime.make(OpenAICompatible.layer({ url: server.url }).pipe(Layer.provide(layers)))
    try {
      const n = options.chunks
      const geminiModel = `long-${n}`
      const ollamaModel = `long:${n}`
      const openaiModel = `long~${n}`
      const request = (m: string): ModelRequest.ModelRequest => ({ model: m, contents: [ModelRequest.user("go")] })
      const countOurs = (runtime: typeof gemini, m: string): Reader => () =>
        runtime.runPromise(
          Effect.flatMap(ModelService, (service) =>
            Stream.runFold(service.stream(request(m)), 0, (k, chunk) => chunk.textDelta === "" ? k : k + 1))
        )

      const ai = vertexGenAI(auth, server.url)
      const genai: Reader = async () => {
        let k = 0
        for await (const chunk of await ai.models.generateContentStream({ model: geminiModel, contents: "go" })) {
          if ((chunk.text ?? "") !== "") k++
        }
        return k
      }
      const accessHeaders = await auth.headers({ kind: "access" })
      const rawGemini: Reader = async () => {
        const response = await fetch(`${vertexUrl(server.url, geminiModel, "streamGenerateContent")}?alt=sse`, {
          method: "POST",
          headers: { ...accessHeaders, "content-type": "application/json" },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "go" }] }] })
        })
        let k = 0
        for await (const event of sseEvents(response.body!)) {
          const text = (event as { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> })
            .candidates?.[0]?.content?.parts?.[0]?.text
          if (text !== undefined && text !== "") k++
        }
        return k
      }

      const ollamaClient = new OllamaClient(OllamaAuth.config(auth, server.url))
      const ollamaNpm: Reader = async () => {
        let k = 0
        const parts = await ollamaClient.chat({
          model: ollamaModel,
          messages: [{ role: "user", content: "go" }],
          stream: true
        })
        for await (const part of parts) if (part.message.content !== "") k++
        return k
      }
      const idHeaders = await auth.headers({ kind: "id", audience: server.url })
      const rawOllama: Reader = async () => {
        const response = await fetch(`${server.url}/api/chat`, {
          method: "POST",
          headers: { ...idHeaders, "content-type": "application/json" },
          body: JSON.stringify({ model: ollamaModel, messages: [{ role: "user", content: "go" }], stream: true })
        })
        let k = 0
        for await (const line of ndjsonLines(response.body!)) {
          if (((line as { message?: { content?: string } }).message?.content ?? "") !== "") k++
        }
        return k
      }

      const openaiClient = new OpenAI(OpenAIAuth.clientOptions(auth, `${server.url}/v1`))
      const openaiNpm: Reader = async () => {
        let k = 0
        const events = await openaiClient.chat.completions.create({
          model: openaiModel,
          messages: [{ role: "user", content: "go" }],
          stream: true
        })
        for await (const event of events) if ((event.choices[0]?.delta.content ?? "") !== "") k++
        return k
      }
      const rawOpenAI: Reader = async () => {
        const response = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { ...idHeaders, "content-type": "application/json" },
          body: JSON.stringify({ model: openaiModel, messages: [{ role: "user", content: "go" }], stream: true })
        })
        let k = 0
        for await (const event of sseEvents(response.body!, (data) => data !== "[DONE]")) {
          const delta = (event as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta
          if ((delta?.content ?? "") !== "") k++
        }
        return k
      }

      const rows: Array<Row> = []
      const suites = [
        {
          key: "gemini",
          wire: "Gemini SSE",
          bytes: Buffer.byteLength(geminiEvents(n, geminiModel).join("")),
          contenders: [
            ["ours", countOurs(gemini, geminiModel)],
            ["@google/genai generateContentStream", genai],
            ["raw fetch + manual SSE parse", rawGemini]
          ] as const
        },
        {
          key: "ollama",
          wire: "Ollama NDJSON",
          bytes: Buffer.byteLength(ollamaLines(n, ollamaModel).join("")),
          contenders: [
            ["ours", countOurs(ollama, ollamaModel)],
            ["ollama client (our signing fetch)", ollamaNpm],
            ["raw fetch + line split", rawOllama]
          ] as const
        },
        {
          key: "openai",
          wire: "OpenAI-compatible SSE",
          bytes: Buffer.byteLength(openaiEvents(n, openaiModel).join("")),
          contenders: [
            ["ours", countOurs(openai, openaiModel)],
            ["openai client stream (our signing fetch)", openaiNpm],
            ["raw fetch + manual SSE parse", rawOpenAI]
          ] as const
        }
      ]
      // the keys of issue 14's goals: ours and the peer that goal names, per wire
      const peerKeys: Record<string, ReadonlyArray<readonly [string, string]>> = {
        gemini: [["@google/genai generateContentStream", "p5.genai_sse_chunks_per_s"], [
          "raw fetch + manual SSE parse",
          "p5.raw_sse_chunks_per_s"
        ]],
        ollama: [["ollama client (our signing fetch)", "p5.ollama_client_chunks_per_s"], [
          "raw fetch + line split",
          "p5.raw_ndjson_chunks_per_s"
        ]],
        openai: [["openai client stream (our signing fetch)", "p5.openai_client_chunks_per_s"], [
          "raw fetch + manual SSE parse",
          "p5.raw_openai_sse_chunks_per_s"
        ]]
      }
      const ourKeys: Record<string, string> = {
        gemini: "p5.gemini_sse_chunks_per_s",
        ollama: "p5.ollama_chunks_per_s",
        openai: "p5.openai_chunks_per_s"
      }
      for (const suite of suites) {
        for (const [, read] of suite.contenders) await read() // warm-up
        const times = await streamRace(suite.contenders, n, options.rounds)
        const o = times.get("ours")!
        const show = (ms: number) =>
          `${fixed(n / (ms / 1000))} ch/s, ${(suite.bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`
        const figures: Record<string, number> = { [ourKeys[suite.key]!]: Math.round(n / (o / 1000)) }
        for (const [peerName, key] of peerKeys[suite.key]!) figures[key] = Math.round(n / (times.get(peerName)! / 1000))
        for (const [index, [peerName]] of suite.contenders.slice(1).entries()) {
          const p = times.get(peerName)!
          rows.push({
            ...(index === 0 ? { figures } : {}),
            scenario: "streaming",
            measure: `${suite.wire}, ${n} chunks (${(suite.bytes / 1e6).toFixed(2)} MB) → chunks/s, MB/s`,
            ours: show(o),
            peer: show(p),
            peerName,
            ratio: `${(p / o).toFixed(2)}x (ours/peer rate)`
          })
        }
      }
      return rows
    } finally {
      await gemini.dispose()
      await ollama.dispose()
      await openai.dispose()
      await auth.close()
      await server.close()
    }
  })
