/**
 * 7. Proxy: the signing proxy (`SigningProxy`, in its own process as `effect-adc proxy`
 * runs) in front of an emulated Cloud Run service (the emulator's front door verifies
 * the ID token on every request), against calling that service directly with a warm ID
 * token in the header. Same client (`fetch`), same request, same run.
 */
import { fileURLToPath } from "node:url"
import * as AuthClient from "../src/auth/AuthClient.js"
import { type Row, withEmulator } from "./authScenarios.js"
import { spawnTsx } from "./child.js"
import { slowStreamHandler } from "./modelServers.js"

const answer = JSON.stringify({
  candidates: [{ content: { role: "model", parts: [{ text: "Echo: ".padEnd(240, "x") }] }, finishReason: "STOP" }],
  usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 40, totalTokenCount: 52 }
})

/** A small model-like upstream: reads the body, answers ~400 bytes of JSON. */
const upstream = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) })
    res.end(answer)
  })
}

const percentile = (xs: ReadonlyArray<number>, q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

const ms = (x: number) => `${x.toFixed(2)} ms`

export const proxy = (options: {
  readonly n: number
  readonly concurrency: number
  readonly ttfbRuns: number
  readonly gapMs: number
}): Promise<Array<Row>> =>
  withEmulator({}, async (emulator) => {
    const echo = await emulator.cloudRun.deploy({ name: "bench-upstream", handler: upstream })
    const slow = await emulator.cloudRun.deploy({ name: "bench-slow", handler: slowStreamHandler(options.gapMs) })
    const child = await spawnTsx<{ url: string }>(
      fileURLToPath(new URL("./proxyChild.ts", import.meta.url)),
      [JSON.stringify({ port: 0, routes: [{ prefix: "/svc", upstream: echo.url }, { prefix: "/slow", upstream: slow.url }] })],
      { ...process.env, ...emulator.env, GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS: "true" }
    )
    const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    try {
      const proxyUrl = child.value.url
      const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "How far is the moon?" }] }] })
      const echoHeaders = { ...(await auth.headers({ kind: "id", audience: echo.url })), "content-type": "application/json" }
      const slowHeaders = await auth.headers({ kind: "id", audience: slow.url })
      const path = "/v1/models/gemma:generateContent"
      const direct = async () => {
        const response = await fetch(`${echo.url}${path}`, { method: "POST", headers: echoHeaders, body })
        if (response.status !== 200 || (await response.text()) !== answer) throw new Error(`direct: ${response.status}`)
      }
      const proxied = async () => {
        const response = await fetch(`${proxyUrl}/svc${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body
        })
        if (response.status !== 200 || (await response.text()) !== answer) throw new Error(`proxied: ${response.status}`)
      }
      const timed = async (f: () => Promise<void>) => {
        const t = performance.now()
        await f()
        return performance.now() - t
      }
      for (let i = 0; i < Math.min(100, options.n); i++) {
        await direct()
        await proxied()
      }

      // Latency: sequential, alternating, so both see the same machine load.
      const d: Array<number> = []
      const p: Array<number> = []
      for (let i = 0; i < options.n; i++) {
        if (i % 2 === 0) {
          d.push(await timed(direct))
          p.push(await timed(proxied))
        } else {
          p.push(await timed(proxied))
          d.push(await timed(direct))
        }
      }
      const rows: Array<Row> = []
      for (const q of [0.5, 0.99]) {
        const dq = percentile(d, q)
        const pq = percentile(p, q)
        rows.push({
          scenario: "proxy",
          measure: `latency p${q * 100}, ${options.n} sequential POSTs (direct → via proxy)`,
          ours: ms(pq),
          peer: ms(dq),
          peerName: "direct to Cloud Run with an ID token",
          ratio: `+${ms(pq - dq)} added`
        })
      }

      // Throughput: `concurrency` in flight.
      const throughput = async (f: () => Promise<void>) => {
        let next = 0
        const t = performance.now()
        await Promise.all(Array.from({ length: options.concurrency }, async () => {
          while (next < options.n) {
            next++
            await f()
          }
        }))
        return options.n / ((performance.now() - t) / 1000)
      }
      const rates = { direct: [] as Array<number>, proxied: [] as Array<number> }
      for (let round = 0; round < 3; round++) {
        rates.direct.push(await throughput(direct))
        rates.proxied.push(await throughput(proxied))
      }
      const dr = percentile(rates.direct, 0.5)
      const pr = percentile(rates.proxied, 0.5)
      rows.push({
        scenario: "proxy",
        measure: `throughput, ${options.n} POSTs, ${options.concurrency} in flight → req/s (median of 3)`,
        ours: pr.toFixed(0),
        peer: dr.toFixed(0),
        peerName: "direct to Cloud Run with an ID token",
        ratio: `${(pr / dr).toFixed(2)}x (proxy/direct)`
      })

      // TTFB of a stream whose second chunk comes `gapMs` after the first.
      const ttfb = async (url: string, headers: Record<string, string>) => {
        const t = performance.now()
        const response = await fetch(url, { method: "POST", headers, body: "{}" })
        const reader = response.body!.getReader()
        const first = await reader.read()
        const at = performance.now() - t
        if (first.done === true) throw new Error("empty stream")
        const decoder = new TextDecoder()
        let text = decoder.decode(first.value, { stream: true })
        for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
          text += decoder.decode(next.value, { stream: true })
        }
        if (text !== "{\"n\":1}\n{\"n\":2}\n") throw new Error(`slow stream: unexpected body ${text}`)
        return { first: at, total: performance.now() - t }
      }
      const td: Array<number> = []
      const tp: Array<number> = []
      const totals: Array<number> = []
      for (let i = 0; i < options.ttfbRuns; i++) {
        td.push((await ttfb(`${slow.url}/stream`, { ...slowHeaders, "content-type": "application/json" })).first)
        const via = await ttfb(`${proxyUrl}/slow/stream`, { "content-type": "application/json" })
        tp.push(via.first)
        totals.push(via.total)
      }
      const dt = percentile(td, 0.5)
      const pt = percentile(tp, 0.5)
      rows.push({
        scenario: "proxy",
        measure: `stream TTFB p50, 2nd chunk ${options.gapMs} ms later (${options.ttfbRuns} runs)`,
        ours: ms(pt),
        peer: ms(dt),
        peerName: "direct",
        ratio: pt < options.gapMs / 2
          ? `preserved (+${ms(pt - dt)}; whole stream ${ms(percentile(totals, 0.5))})`
          : `NOT preserved (+${ms(pt - dt)})`
      })
      return rows
    } finally {
      await auth.close()
      await child.close()
      await echo.close()
      await slow.close()
    }
  })
