import { describe, expect, it } from "@effect/vitest"
import { coldStampede, expiryStall, scaleModel, warmHeaders } from "../../bench/authScenarios.js"

// Each bench scenario still runs (tiny sizes). These check counts, never times.

describe("bench scenarios (smoke)", () => {
  it("cold stampede: one fetch per key for us; the peer's ID tokens fetch per caller", async () => {
    const rows = await coldStampede([20])
    expect(rows).toHaveLength(2)
    expect(rows.map((r) => r.ours)).toEqual(["1", "1"])
    expect(rows[1]?.peer).toBe("20")
  })

  it("warm headers: four rows with ours and the peer", async () => {
    const rows = await warmHeaders(200)
    expect(rows).toHaveLength(4)
    for (const row of rows) expect(row.ours).toMatch(/µs \/ .*µs$/)
  })

  it("expiry stall: runs both sides across an expiry", async () => {
    const rows = await expiryStall({ lifetimeSeconds: 3, latencyMs: 50, intervalMs: 20, durationMs: 1_500 })
    expect(rows).toHaveLength(2)
    for (const row of rows) expect(row.measure).toMatch(/of \d+ \/ \d+/)
  })

  it("scale model: fetches do not grow with the request rate", async () => {
    const rows = await scaleModel([1, 20], 2)
    expect(rows).toHaveLength(2)
    expect(rows[0]?.ours).toBe(rows[1]?.ours)
    expect(rows[0]?.ours).toBe("1.50 (3 in all)")
  })
})
