import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { bin } from "../support/cli.js"

// `npm run demo` (= `effect-adc demo`) as a subprocess: it starts its own embedded
// emulator, so the process gets no Google account, no gcloud files, and a metadata
// host that answers nothing until the demo points itself at its emulator.

const empty = mkdtempSync(join(tmpdir(), "effect-adc-demo-"))
const withoutMcpSdk = fileURLToPath(new URL("./fixtures/withoutMcpSdk.mjs", import.meta.url))

const run = (args: ReadonlyArray<string>, env: Record<string, string>, nodeArgs: ReadonlyArray<string> = []) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, bin, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 90_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

const isolated = {
  HOME: empty,
  CLOUDSDK_CONFIG: empty,
  GCE_METADATA_HOST: "127.0.0.1:1",
  GCE_METADATA_IP: "127.0.0.1:1"
}

/** The lines of one step (`[n/7] …` up to the next step). */
const stepOf = (stdout: string, n: number): string => {
  const start = stdout.indexOf(`[${n}/7]`)
  const end = stdout.indexOf(`[${n + 1}/7]`)
  return start < 0 ? "" : stdout.slice(start, end < 0 ? undefined : end)
}

describe("effect-adc demo", () => {
  it("every step on the embedded emulator, with progress output and no token value", async () => {
    const result = await run(["demo"], { ...isolated, GOOGLE_CLOUD_PROJECT: "not-the-demo-project" })
    expect(result.code, result.stderr).toBe(0)
    const out = result.stdout
    expect(`${out}${result.stderr}`).not.toMatch(/ya29\.|eyJ/)

    expect(stepOf(out, 1)).toMatch(
      /✓ metadata server at 127\.0\.0\.1:\d+ \(GCE_METADATA_HOST\), project emulator-project/
    )

    const adc = stepOf(out, 2)
    expect(adc).toContain("✓ source:    metadata")
    expect(adc).toMatch(/✓ principal: \S+@developer\.gserviceaccount\.com/)

    const gemini = stepOf(out, 3)
    expect(gemini).toContain("✓ Gemini answered: Echo: In one sentence: why are API keys risky for agents?")
    expect(gemini).toMatch(/verified an access token for \S+@developer\.gserviceaccount\.com; API key sent: none/)

    const gemma = stepOf(out, 4)
    expect(gemma).toContain("without a token: HTTP 401")
    const chunks = gemma.split("\n").filter((line) => /^ +chunk \d+: "/.test(line))
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.map((line) => JSON.parse(line.replace(/^ +chunk \d+: /, "")) as string).join("")).toBe(
      "Echo: Name three things a Cloud Run service account needs to call Gemini."
    )
    expect(gemma).toContain(`✓ Gemma streamed ${chunks.length} chunks with an ID token`)

    const mcp = stepOf(out, 5)
    expect(mcp).toContain("✓ tools: add, whoami")
    expect(mcp).toContain(`✓ MCP tool add({"a":2,"b":3}) = 5`)
    expect(mcp).toMatch(/whoami \(the caller Cloud Run let through\): \S+@developer\.gserviceaccount\.com/)

    // The first call after invalidation waits; after that the background fiber keeps the
    // token fresh and every call is served from the cache, while the value rotates.
    const refresh = stepOf(out, 6)
    const calls = refresh.split("\n").filter((line) => /^ +t\+\ds /.test(line))
    expect(calls).toHaveLength(6)
    expect(calls[0]).toContain("waited for a fetch")
    for (const call of calls.slice(1)) expect(call).toContain("served from the cache")
    expect(new Set(calls.map((line) => /sha256:(\w+)/.exec(line)?.[1])).size).toBeGreaterThanOrEqual(2)
    expect(refresh).toMatch(/✓ refreshed in the background: [2-9] distinct tokens, [2-9] fetches, 0 callers waited/)

    const seen = stepOf(out, 7)
    expect(seen).toMatch(/metadata server: [1-9]\d* access-token fetches, [1-9]\d* ID-token fetches/)
    expect(seen).toContain("Gemini endpoint: 1 requests, API keys seen: 0")
    expect(seen).toMatch(/Cloud Run front door: gemma [1-9]\d* requests, mcp-tools [1-9]\d* requests/)
  }, 120_000)

  it("--real without GOOGLE_CLOUD_PROJECT: one line naming it and the docs, exit 1, nothing contacted", async () => {
    const result = await run(["demo", "--real"], isolated)
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^effect-adc: demo --real: .*GOOGLE_CLOUD_PROJECT.*docs\/cli\.md/)
  }, 30_000)

  it("without the optional MCP SDK: step 5 says how to install it, the other steps run", async () => {
    const result = await run(["demo"], isolated, ["--import", withoutMcpSdk])
    expect(result.code, result.stderr).toBe(0)
    expect(stepOf(result.stdout, 5)).toContain(
      "– skipped: @modelcontextprotocol/sdk is not installed (npm install @modelcontextprotocol/sdk)"
    )
    expect(stepOf(result.stdout, 4)).toContain("✓ Gemma streamed")
    expect(stepOf(result.stdout, 7)).toMatch(/mcp-tools 0 requests/)
  }, 30_000)
})
