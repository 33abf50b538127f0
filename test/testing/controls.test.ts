/**
 * Controls: latency, every failure kind, counters, the clock, reset; the
 * fetch seam; the Effect layer.
 */
import { describe as effectDescribe, expect as effectExpect, it as effectIt, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import { describe, expect, it } from "vitest"
import { Emulator } from "../../src/testing/index.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator()
const tokenUrl = () => `${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/token`
const metadata = (init: RequestInit = {}) => fetch(tokenUrl(), { ...init, headers: { "Metadata-Flavor": "Google" } })

describe("latency", () => {
  it("delays one endpoint only", async () => {
    emulator.controls.setLatency("metadata.token", 80)
    let t0 = performance.now()
    await metadata()
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75)
    t0 = performance.now()
    await fetch(`${emulator.metadataUrl}/`, { headers: { "Metadata-Flavor": "Google" } })
    expect(performance.now() - t0).toBeLessThan(75)
    emulator.controls.setLatency("metadata.token", 0)
  })
})

describe("failures", () => {
  it("status with body and headers, for the given number of calls", async () => {
    emulator.controls.fail("metadata.token", {
      kind: "status",
      status: 503,
      body: "maintenance",
      headers: { "Retry-After": "1" }
    }, 2)
    const first = await metadata()
    expect(first.status).toBe(503)
    expect(first.headers.get("retry-after")).toBe("1")
    expect(await first.text()).toBe("maintenance")
    expect((await metadata()).status).toBe(503)
    expect((await metadata()).status).toBe(200)
    expect(emulator.controls.count("metadata.token")).toBe(3)
    expect(emulator.controls.log.filter((e) => e.detail?.startsWith("injected")).length).toBe(2)
  })

  it("until cleared by default", async () => {
    emulator.controls.fail("oauth.token", { kind: "status", status: 500 })
    for (let i = 0; i < 3; i++) {
      expect((await emulator.fetch("https://oauth2.googleapis.com/token", { method: "POST" })).status).toBe(500)
    }
    emulator.controls.clearFailures()
    expect((await emulator.fetch("https://oauth2.googleapis.com/token", { method: "POST" })).status).toBe(400)
  })

  it("garbage: a 200 whose body is not JSON", async () => {
    emulator.controls.fail("iam.generateIdToken", { kind: "garbage" }, 1)
    const res = await emulator.fetch(
      `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${emulator.impersonationTarget.email}:generateIdToken`,
      { method: "POST" }
    )
    expect(res.status).toBe(200)
    await expect(res.json()).rejects.toThrow()
  })

  it("close: the socket is destroyed without an answer", async () => {
    emulator.controls.fail("metadata.identity", { kind: "close" }, 1)
    await expect(
      fetch(`${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/identity?audience=a`, {
        headers: { "Metadata-Flavor": "Google" }
      })
    ).rejects.toThrow()
  })

  it("hang: no answer until the client gives up", async () => {
    emulator.controls.fail("sts.token", { kind: "hang" }, 1)
    const t0 = performance.now()
    await expect(
      emulator.fetch("https://sts.googleapis.com/v1/token", { method: "POST", signal: AbortSignal.timeout(60) })
    ).rejects.toThrow(/abort|timeout/i)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55)
    expect((await emulator.fetch("https://sts.googleapis.com/v1/token", { method: "POST" })).status).toBe(400)
  })

  it("works on Cloud Run services", async () => {
    const service = await emulator.cloudRun.deploy({
      name: "flaky",
      handler: (_req, res) => res.end("ok"),
      invokers: "allUsers"
    })
    emulator.controls.fail("cloudrun:flaky", { kind: "status", status: 502 }, 1)
    expect((await fetch(service.url)).status).toBe(502)
    expect((await fetch(service.url)).status).toBe(200)
    expect(emulator.controls.counts()).toMatchObject({ "cloudrun:flaky": 2 })
    await service.close()
  })
})

describe("clock", () => {
  it("now() follows the offset and so do iat/exp", async () => {
    emulator.controls.setClockOffset(-86_400_000)
    expect(Math.abs(emulator.controls.now() - (Date.now() - 86_400_000))).toBeLessThan(50)
    const token = await (await fetch(
      `${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/identity?audience=a`,
      {
        headers: { "Metadata-Flavor": "Google" }
      }
    )).text()
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { iat: number }
    expect(Math.abs(claims.iat - (Date.now() / 1000 - 86_400))).toBeLessThan(2)
  })
})

describe("close", () => {
  it("closes promptly even with a hung request and a keep-alive connection open", async () => {
    const other = await Emulator.start()
    other.controls.fail("metadata.token", { kind: "hang" })
    const hung = new Promise<string>((resolve) => {
      const req = Http.get(`${other.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/token`, {
        headers: { "Metadata-Flavor": "Google" }
      })
      req.on("error", (e) => resolve(e.message))
      req.on("response", () => resolve("answered"))
    })
    await new Promise((r) => setTimeout(r, 20))
    const t0 = performance.now()
    await other.close()
    expect(performance.now() - t0).toBeLessThan(500)
    expect(await hung).toMatch(/socket hang up|ECONNRESET/)
    await expect(fetch(other.metadataUrl)).rejects.toThrow()
  })
})

describe("fetch seam", () => {
  it("rewrites Google's auth hosts, passes loopback, refuses everything else", async () => {
    expect((await emulator.fetch("https://www.googleapis.com/oauth2/v3/certs")).status).toBe(200)
    expect(
      (await emulator.fetch(
        new Request("https://oauth2.googleapis.com/token", { method: "POST", body: "grant_type=x" })
      )).status
    ).toBe(400)
    expect((await emulator.fetch(new URL(`${emulator.metadataUrl}/`))).status).toBe(403)
    for (
      const url of [
        "https://example.com/",
        "https://aiplatform.googleapis.com/v1/x",
        "https://www.googleapis.com/drive/v3/files",
        "http://169.254.169.254/computeMetadata/v1/"
      ]
    ) {
      await expect(emulator.fetch(url)).rejects.toBeInstanceOf(TypeError)
    }
  })
})

layer(Emulator.layer({ projectId: "layer-project" }))("Emulator.layer", (it) => {
  it.effect("provides a running emulator for the scope", () =>
    Effect.gen(function*() {
      const handle = yield* Emulator.Emulator
      effectExpect(handle.projectId).toBe("layer-project")
      const text = yield* Effect.promise(() =>
        fetch(`${handle.metadataUrl}/computeMetadata/v1/project/project-id`, {
          headers: { "Metadata-Flavor": "Google" }
        }).then((r) => r.text())
      )
      effectExpect(text).toBe("layer-project")
    }))
})

effectDescribe("Emulator.make", () => {
  effectIt.scoped("closes with its scope", () =>
    Effect.gen(function*() {
      const url = yield* Effect.scoped(Effect.map(Emulator.make(), (h) => h.metadataUrl))
      const result = yield* Effect.promise(() => fetch(url).then(() => "open", () => "closed"))
      effectExpect(result).toBe("closed")
    }))
})
