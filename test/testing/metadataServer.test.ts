/**
 * The metadata server against fixtures/metadata and gcp-metadata's probes.
 */
import { beforeEach, describe, expect, it } from "vitest"
import { useEmulator } from "../support/emulator.js"
import { decodeSegment, ErrorFixture, fixtureJson, fixtureText } from "./fixtures.js"

const emulator = useEmulator()
const flavor = { "Metadata-Flavor": "Google" }
const get = (path: string, headers: Record<string, string> = flavor, init: RequestInit = {}) =>
  fetch(`${emulator.metadataUrl}${path}`, { headers, redirect: "manual", ...init })

beforeEach(() => {
  emulator.controls.reset()
  emulator.controls.setClockOffset(0)
  emulator.controls.setTokenLifetime(3600)
  emulator.controls.setMetadataReuseWindow(300)
})

describe("fixtures/metadata", () => {
  it("403 without Metadata-Flavor: the GKE fixture's status, headers and bytes", async () => {
    const fixture = fixtureJson("metadata/error-403-missing-metadata-flavor-gke.json", ErrorFixture)
    const res = await get("/", {})
    expect(res.status).toBe(fixture.status)
    expect(res.headers.get("content-type")).toBe(fixture.headers["Content-Type"])
    expect(res.headers.get("x-content-type-options")).toBe(fixture.headers["X-Content-Type-Options"])
    expect(res.headers.get("content-length")).toBe(fixture.headers["Content-Length"])
    expect(await res.text()).toBe(fixture.body)
    // the same on any path, and with a wrong flavor
    expect(
      (await get("/computeMetadata/v1/instance/service-accounts/default/token", { "Metadata-Flavor": "google" })).status
    ).toBe(403)
  })

  it("root with Metadata-Flavor: the fixture's body, content type and flavor header", async () => {
    const fixture = fixtureJson("metadata/root-200-metadata-flavor-header-gke.json", ErrorFixture)
    const res = await get("/")
    expect(res.status).toBe(fixture.status)
    expect(res.headers.get("content-type")).toBe(fixture.headers["Content-Type"])
    expect(res.headers.get("metadata-flavor")).toBe(fixture.headers["Metadata-Flavor"])
    expect(res.headers.get("content-length")).toBe(fixture.headers["Content-Length"])
    expect(await res.text()).toBe(fixture.body)
  })

  it("token: the fixture's keys in the fixture's order", async () => {
    const fixture = JSON.parse(fixtureText("metadata/token.json")) as Record<string, unknown>
    const res = await get("/computeMetadata/v1/instance/service-accounts/default/token")
    expect(res.headers.get("content-type")).toBe("application/json")
    expect(res.headers.get("metadata-flavor")).toBe("Google")
    const body = (await res.json()) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(Object.keys(fixture))
    expect(body["token_type"]).toBe(fixture["token_type"])
    expect(typeof body["expires_in"]).toBe("number")
    expect(body["access_token"]).toMatch(/^ya29\.[A-Za-z0-9_-]+$/)
  })

  it("identity: header and claims named and ordered as the fixture's", async () => {
    const fixture = fixtureText("metadata/identity-token.jwt").trim()
    const res = await get(
      "/computeMetadata/v1/instance/service-accounts/default/identity?audience=https://example.com&format=full&licenses=FALSE"
    )
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/)
    const token = await res.text()
    expect(Object.keys(decodeSegment(token, 0))).toEqual(Object.keys(decodeSegment(fixture, 0)))
    const claims = decodeSegment(token, 1)
    const expected = decodeSegment(fixture, 1)
    expect(Object.keys(claims)).toEqual(Object.keys(expected))
    expect(claims).toMatchObject({
      iss: expected["iss"],
      aud: "https://example.com",
      email: emulator.serviceAccount.email,
      azp: emulator.serviceAccount.email,
      sub: emulator.serviceAccount.uniqueId,
      email_verified: true
    })
    expect((claims["exp"] as number) - (claims["iat"] as number)).toBe(3600)
    expect(decodeSegment(token, 0)["kid"]).toMatch(/^[0-9a-f]{40}$/)
    expect(token.split(".")[2]!.length).toBe(fixture.split(".")[2]!.length)
  })

  it("identity: format=standard (the default) leaves out the email claims", async () => {
    for (const query of ["audience=aud&format=standard", "audience=aud"]) {
      const claims = decodeSegment(
        await (await get(`/computeMetadata/v1/instance/service-accounts/default/identity?${query}`)).text(),
        1
      )
      expect(Object.keys(claims)).toEqual(["iss", "sub", "aud", "azp", "exp", "iat"])
    }
  })

  it("identity: a fresh token on every call; 400 without audience", async () => {
    const path = "/computeMetadata/v1/instance/service-accounts/default/identity?audience=a"
    const a = await (await get(path)).text()
    emulator.controls.setClockOffset(1000)
    const b = await (await get(path)).text()
    expect(a).not.toBe(b)
    for (const query of ["", "?audience=", "?format=full"]) {
      const res = await get(`/computeMetadata/v1/instance/service-accounts/default/identity${query}`)
      expect(res.status).toBe(400)
      expect(await res.text()).toBe("non-empty audience parameter required\n")
    }
  })
})

describe("directory and values", () => {
  it("gcp-metadata's isAvailable probe: /instance redirects to /instance/", async () => {
    const res = await get("/computeMetadata/v1/instance")
    expect(res.status).toBe(301)
    expect(res.headers.get("location")).toBe(`${emulator.metadataUrl}/computeMetadata/v1/instance/`)
    expect(res.headers.get("metadata-flavor")).toBe("Google")
    expect(await res.text()).toBe("/computeMetadata/v1/instance/\n")
    const followed = await fetch(`${emulator.metadataUrl}/computeMetadata/v1/instance`, { headers: flavor })
    expect(followed.status).toBe(200)
    expect(await followed.text()).toBe("id\nregion\nservice-accounts/\nzone\n")
  })

  it("project ids, region, zone, universe", async () => {
    const text = async (path: string) => (await get(`/computeMetadata/v1/${path}`)).text()
    expect(await text("project/project-id")).toBe("emulator-project")
    expect(await text("project/numeric-project-id")).toBe("123456789012")
    expect(await text("instance/region")).toBe("projects/123456789012/regions/us-central1")
    expect(await text("instance/zone")).toBe("projects/123456789012/zones/us-central1-1")
    expect(await text("universe/universe-domain")).toBe("googleapis.com")
    expect(await text("")).toBe("instance/\nproject/\nuniverse/\n")
    expect(await text("project/")).toBe("numeric-project-id\nproject-id\n")
  })

  it("service accounts: listing, email, scopes, recursive JSON", async () => {
    const sa = emulator.serviceAccount.email
    const text = async (path: string) => (await get(`/computeMetadata/v1/instance/service-accounts/${path}`)).text()
    expect(await text("")).toBe(`${sa}/\ndefault/\n`)
    expect(await text("default/")).toBe("aliases\nemail\nidentity\nscopes\ntoken\n")
    expect(await text("default/email")).toBe(sa)
    expect(await text(`${sa}/email`)).toBe(sa)
    expect(await text("default/scopes")).toBe(
      "https://www.googleapis.com/auth/cloud-platform\nhttps://www.googleapis.com/auth/userinfo.email\n"
    )
    const recursive = await (await get("/computeMetadata/v1/instance/service-accounts/?recursive=true")).json()
    expect(recursive).toEqual({
      default: {
        aliases: ["default"],
        email: sa,
        scopes: ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"]
      },
      [sa]: {
        aliases: ["default"],
        email: sa,
        scopes: ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"]
      }
    })
    const project = await (await get("/computeMetadata/v1/project/?recursive=true")).json()
    expect(project).toEqual({ numericProjectId: 123456789012, projectId: "emulator-project" })
  })

  it("unknown paths and accounts: 404 with Google's HTML page", async () => {
    for (
      const path of [
        "/computeMetadata/v1/instance/nope",
        "/computeMetadata/v1/instance/%E0%A4%A",
        "/computeMetadata/v1/instance/service-accounts/other@x.iam.gserviceaccount.com/token",
        "/nope",
        "/computeMetadata/v1/project/project-id/"
      ]
    ) {
      const res = await get(path)
      expect(res.status).toBe(404)
      expect(res.headers.get("content-type")).toMatch(/^text\/html/)
      expect(await res.text()).toContain("<title>Error 404 (Not Found)!!1</title>")
    }
  })

  it("rejects X-Forwarded-For and non-GET methods", async () => {
    const forwarded = await get("/computeMetadata/v1/project/project-id", { ...flavor, "X-Forwarded-For": "10.0.0.1" })
    expect(forwarded.status).toBe(403)
    const post = await get("/computeMetadata/v1/instance/service-accounts/default/token", flavor, {
      method: "POST",
      body: "x"
    })
    expect(post.status).toBe(405)
  })
})

describe("token reuse window, scopes and the clock", () => {
  const tokenPath = "/computeMetadata/v1/instance/service-accounts/default/token"
  const token = async (query = "") =>
    (await (await get(`${tokenPath}${query}`)).json()) as { access_token: string; expires_in: number }

  it("hands out the same token until the reuse window, then a fresh one", async () => {
    // a scope set of its own: a token an earlier test minted would be reused, with less left
    const scoped = () => token("?scopes=https://www.googleapis.com/auth/reuse-window")
    const first = await scoped()
    expect(first.expires_in).toBe(3600)
    emulator.controls.setClockOffset(3000_000) // 600 s left: outside the 300 s window
    const second = await scoped()
    expect(second.access_token).toBe(first.access_token)
    expect(second.expires_in).toBe(600)
    emulator.controls.setClockOffset(3301_000) // 299 s left: inside the window
    const third = await scoped()
    expect(third.access_token).not.toBe(first.access_token)
    expect(third.expires_in).toBe(3600)
    expect(emulator.controls.log.at(-1)?.detail).not.toContain("reused")
  })

  it("one token per scope set", async () => {
    emulator.controls.setClockOffset(10 * 86_400_000)
    const a = await token("?scopes=https://www.googleapis.com/auth/cloud-platform")
    const b = await token(
      "?scopes=https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/cloud-platform"
    )
    const c = await token(
      "?scopes=https://www.googleapis.com/auth/cloud-platform,https://www.googleapis.com/auth/devstorage.read_only"
    )
    expect(a.access_token).not.toBe(b.access_token)
    expect(b.access_token).toBe(c.access_token)
  })

  it("token lifetime and reuse window are adjustable", async () => {
    emulator.controls.setClockOffset(20 * 86_400_000)
    emulator.controls.setTokenLifetime(120)
    emulator.controls.setMetadataReuseWindow(0)
    const first = await token("?scopes=x")
    expect(first.expires_in).toBe(120)
    expect((await token("?scopes=x")).access_token).toBe(first.access_token)
  })

  it("logs who called and counts per endpoint", async () => {
    await token()
    await get("/computeMetadata/v1/instance/service-accounts/default/identity?audience=z")
    await get("/computeMetadata/v1/project/project-id")
    expect(emulator.controls.counts()).toMatchObject({
      "metadata.token": 1,
      "metadata.identity": 1,
      "metadata.other": 1
    })
    expect(emulator.controls.log.map((e) => [e.endpoint, e.principal])).toEqual([
      ["metadata.token", emulator.serviceAccount.email],
      ["metadata.identity", emulator.serviceAccount.email],
      ["metadata.other", undefined]
    ])
    expect(JSON.stringify(emulator.controls.log)).not.toContain("ya29.")
  })
})
