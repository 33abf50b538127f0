/**
 * The Cloud Run front door against fixtures/cloudrun.
 */
import { GoogleAuth } from "google-auth-library"
import { generateKeyPair, SignJWT } from "jose"
import type * as Http from "node:http"
import { beforeAll, describe, expect, it } from "vitest"
import { Emulator } from "../../src/testing/index.js"
import { useEmulator } from "../support/emulator.js"
import { ErrorFixture, fixtureJson, fixtureText } from "./fixtures.js"

const emulator = useEmulator({ env: true })
let service: Emulator.CloudRunService

const echo: Http.RequestListener = (req, res) => {
  res.writeHead(200, { "Content-Type": "application/json" })
  res.end(JSON.stringify({
    path: req.url,
    authorization: req.headers["authorization"] ?? null,
    serverless: req.headers["x-serverless-authorization"] ?? null
  }))
}

const metadataIdToken = async (audience: string, format = "full") =>
  (await fetch(
    `${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${
      encodeURIComponent(audience)
    }&format=${format}`,
    {
      headers: { "Metadata-Flavor": "Google" }
    }
  )).text()

const call = (headers: Record<string, string>, path = "/hello", url = service.url) =>
  fetch(`${url}${path}`, { headers })

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "echo", handler: echo, audiences: ["https://echo.custom.example"] })
})

describe("accepted tokens", () => {
  it("in Authorization: forwarded without its signature", async () => {
    const token = await metadataIdToken(service.url)
    const res = await call({ Authorization: `Bearer ${token}` })
    expect(res.status).toBe(200)
    const seen = (await res.json()) as { authorization: string; serverless: null }
    expect(seen.authorization).toBe(`Bearer ${token.split(".").slice(0, 2).join(".")}`)
    expect(seen.authorization.split(".")).toHaveLength(2)
    expect(emulator.controls.count("cloudrun:echo")).toBe(1)
    expect(emulator.controls.log.at(-1)).toMatchObject({
      endpoint: "cloudrun:echo",
      principal: emulator.serviceAccount.email
    })
  })

  it("in X-Serverless-Authorization: it wins, Authorization passes untouched", async () => {
    const token = await metadataIdToken(`${service.url}/`)
    const res = await call({ "X-Serverless-Authorization": `Bearer ${token}`, Authorization: "Bearer app-level-token" })
    expect(res.status).toBe(200)
    const seen = (await res.json()) as { authorization: string; serverless: string }
    expect(seen.serverless).toBe(`Bearer ${token.split(".").slice(0, 2).join(".")}`)
    expect(seen.authorization).toBe("Bearer app-level-token")
    // an invalid X-Serverless-Authorization is not rescued by a valid Authorization
    const bad = await call({ "X-Serverless-Authorization": "Bearer nope", Authorization: `Bearer ${token}` })
    expect(bad.status).toBe(401)
  })

  it("a custom audience, the user's ID token (aud = gcloud's client id), format=standard tokens", async () => {
    expect((await call({ Authorization: `Bearer ${await metadataIdToken("https://echo.custom.example")}` })).status)
      .toBe(200)
    expect((await call({ Authorization: `Bearer ${await metadataIdToken(service.url, "standard")}` })).status).toBe(200)
    const refresh = await emulator.fetch("https://oauth2.googleapis.com/token", {
      method: "POST",
      body: new URLSearchParams({
        client_id: emulator.user.clientId,
        client_secret: emulator.user.clientSecret,
        grant_type: "refresh_token",
        refresh_token: emulator.user.refreshToken
      })
    })
    const { id_token } = (await refresh.json()) as { id_token: string }
    const res = await call({ Authorization: `Bearer ${id_token}` })
    expect(res.status).toBe(200)
    expect(emulator.controls.log.at(-1)?.principal).toBe(emulator.user.email)
  })

  it("google-auth-library's IdTokenClient calls the service end to end", async () => {
    Object.assign(process.env, emulator.env)
    const client = await new GoogleAuth({ clientOptions: emulator.clientOptions }).getIdTokenClient(service.url)
    const res = await client.fetch<{ authorization: string }>(`${service.url}/via-library`)
    expect(res.status).toBe(200)
    expect(res.data.authorization.split(".")).toHaveLength(2)
  })
})

describe("rejections", () => {
  it("no token: 401 with the fixture's HTML (path substituted) and no WWW-Authenticate", async () => {
    const fixture = fixtureJson("cloudrun/error-401-unauthorized-html.json", ErrorFixture)
    const res = await call({}, "/endpoint/xxxxx")
    expect(res.status).toBe(fixture.status)
    expect(res.headers.get("content-type")).toMatch(/^text\/html/)
    expect(res.headers.get("www-authenticate")).toBeNull()
    expect(await res.text()).toBe(fixture.body)
    const other = await call({}, "/a/<b>")
    expect(await other.text()).toBe((fixture.body as string).replace("/endpoint/xxxxx", "/a/%3Cb%3E"))
  })

  it("expired, wrong audience, an access token, a foreign signature, not Bearer: 401 with the fixture's WWW-Authenticate", async () => {
    const expected = fixtureText("cloudrun/www-authenticate-invalid-token.txt").trim()
    const token = await metadataIdToken(service.url)
    const { privateKey } = await generateKeyPair("RS256")
    const now = Math.floor(Date.now() / 1000)
    const foreign = await new SignJWT({ email: emulator.serviceAccount.email })
      .setProtectedHeader({ alg: "RS256", kid: "f".repeat(40) })
      .setIssuer("https://accounts.google.com")
      .setAudience(service.url)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey)
    const access =
      ((await (await fetch(`${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/token`, {
        headers: { "Metadata-Flavor": "Google" }
      })).json()) as { access_token: string }).access_token
    const headers: Array<Record<string, string>> = [
      { Authorization: `Bearer ${await metadataIdToken("https://elsewhere.example")}` },
      { Authorization: `Bearer ${access}` },
      { Authorization: `Bearer ${foreign}` },
      { Authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
      { Authorization: `Bearer ${token.split(".").slice(0, 2).join(".")}.` }
    ]
    for (const h of headers) {
      const res = await call(h)
      expect(res.status).toBe(401)
      expect(res.headers.get("www-authenticate")).toBe(expected)
      expect(await res.text()).toContain("<h1>Error: Unauthorized</h1>")
    }
    emulator.controls.setClockOffset(3600_000 + 31_000)
    const expired = await call({ Authorization: `Bearer ${token}` })
    expect(expired.status).toBe(401)
    expect(expired.headers.get("www-authenticate")).toBe(expected)
    expect(emulator.controls.log.at(-1)?.detail).toContain("expired")
  })

  it("a principal that is not an invoker: 403 HTML", async () => {
    const restricted = await emulator.cloudRun.deploy({
      name: "restricted",
      handler: echo,
      invokers: [emulator.user.email]
    })
    const res = await call(
      { Authorization: `Bearer ${await metadataIdToken(restricted.url)}` },
      "/secret",
      restricted.url
    )
    expect(res.status).toBe(403)
    const body = await res.text()
    expect(body).toContain("<title>403 Forbidden</title>")
    expect(body).toContain("Your client does not have permission to get URL <code>/secret</code> from this server.")
    expect(emulator.controls.log.at(-1)).toMatchObject({
      endpoint: "cloudrun:restricted",
      principal: emulator.serviceAccount.email
    })
    await restricted.close()
  })
})

describe("public services and cold starts", () => {
  it("allUsers: no token needed, headers untouched", async () => {
    const open = await emulator.cloudRun.deploy({ name: "open", handler: echo, invokers: "allUsers" })
    const res = await call({ Authorization: "Bearer whatever.x.y" }, "/", open.url)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { authorization: string }).authorization).toBe("Bearer whatever.x.y")
    await open.close()
  })

  it("503 while scaling up, then the handler", async () => {
    const cold = await emulator.cloudRun.deploy({
      name: "cold",
      handler: echo,
      coldStart: { status: 503, requests: 2 }
    })
    const auth = { Authorization: `Bearer ${await metadataIdToken(cold.url)}` }
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await call(auth, "/", cold.url)).status)
    expect(statuses).toEqual([503, 503, 200])
    expect(emulator.controls.count("cloudrun:cold")).toBe(3)
    await cold.close()
  })

  it("429 and a first-request delay", async () => {
    const slow = await emulator.cloudRun.deploy({ name: "slow", handler: echo, coldStart: { delayMs: 60 } })
    const auth = { Authorization: `Bearer ${await metadataIdToken(slow.url)}` }
    const t0 = performance.now()
    expect((await call(auth, "/", slow.url)).status).toBe(200)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55)
    await slow.close()
    const busy = await emulator.cloudRun.deploy({ name: "busy", handler: echo, coldStart: { status: 429 } })
    const first = await call({ Authorization: `Bearer ${await metadataIdToken(busy.url)}` }, "/", busy.url)
    expect(first.status).toBe(429)
    expect(await first.text()).toContain("<title>429 Too Many Requests</title>")
    await busy.close()
  })
})
