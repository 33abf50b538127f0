/**
 * The token endpoint (via the fetch seam) against fixtures/oauth.
 */
import { importPKCS8, SignJWT } from "jose"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import { beforeAll, describe, expect, it } from "vitest"
import { Emulator } from "../../src/testing/index.js"
import { useEmulator } from "../support/emulator.js"
import { decodeSegment, ErrorFixture, fixtureJson, fixtureText } from "./fixtures.js"

const emulator = useEmulator()
let key: { client_email: string; private_key: string; private_key_id: string }
const TOKEN_URL = "https://oauth2.googleapis.com/token"

const post = (body: Record<string, string> | string, url = TOKEN_URL) =>
  emulator.fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: typeof body === "string" ? body : new URLSearchParams(body)
  })

const assertion = async (
  claims: Record<string, unknown> = {},
  options: { privateKey?: string; kid?: string | null; iat?: number; exp?: number } = {}
) => {
  const now = Math.floor(Date.now() / 1000)
  const iat = options.iat ?? now
  const jwt = new SignJWT({
    iss: key.client_email,
    scope: "https://www.googleapis.com/auth/cloud-platform",
    aud: TOKEN_URL,
    exp: options.exp ?? iat + 3600,
    iat,
    ...claims
  }).setProtectedHeader(
    options.kid === null ? { alg: "RS256" } : { alg: "RS256", kid: options.kid ?? key.private_key_id }
  )
  return jwt.sign(await importPKCS8(options.privateKey ?? key.private_key, "RS256"))
}

const jwtBearer = async (a: string) => post({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: a })

const refresh = (overrides: Record<string, string> = {}) =>
  post({
    client_id: emulator.user.clientId,
    client_secret: emulator.user.clientSecret,
    grant_type: "refresh_token",
    refresh_token: emulator.user.refreshToken,
    ...overrides
  })

beforeAll(async () => {
  key = JSON.parse(await Fs.readFile(await emulator.credentials.writeServiceAccountKey(), "utf8"))
})

describe("JWT-bearer grant (service-account key)", () => {
  it("scope -> access token: keys, 2-space body, no kid needed (gtoken sends none)", async () => {
    const res = await jwtBearer(await assertion({}, { kid: null }))
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8")
    const text = await res.text()
    const body = JSON.parse(text) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(["access_token", "expires_in", "token_type"])
    expect(text).toBe(JSON.stringify(body, null, 2) + "\n")
    expect(body).toMatchObject({ expires_in: 3600, token_type: "Bearer" })
    expect(emulator.controls.log.at(-1)).toMatchObject({ endpoint: "oauth.token", principal: key.client_email })
  })

  it("target_audience -> only id_token, byte for byte the fixture's shape", async () => {
    const res = await jwtBearer(await assertion({ target_audience: "https://svc.example" }))
    const text = await res.text()
    const token = (JSON.parse(text) as { id_token: string }).id_token
    expect(text.replace(token, "<JWT_TOKEN>")).toBe(fixtureText("oauth/token-response-id-token-only.json"))
    const claims = decodeSegment(token, 1)
    expect(Object.keys(claims)).toEqual(
      Object.keys(decodeSegment(fixtureText("metadata/identity-token.jwt").trim(), 1))
    )
    expect(claims).toMatchObject({ aud: "https://svc.example", azp: key.client_email, email: key.client_email })
  })

  it("a signature from another key: the fixture's bytes", async () => {
    const fixture = fixtureJson("oauth/error-invalid-grant-invalid-jwt-signature.json", ErrorFixture)
    const other = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem"
    }).toString()
    for (
      const a of [
        await assertion({}, { privateKey: other }),
        await assertion({}, { kid: "0".repeat(40) }),
        "not.a.jwt",
        "x"
      ]
    ) {
      const res = await jwtBearer(a)
      expect(res.status).toBe(400)
      expect(await res.text()).toBe(fixture.body)
    }
  })

  it("iat/exp outside the one-hour window: the timeframe error", async () => {
    const fixture = fixtureJson("oauth/error-invalid-grant-jwt-timeframe-legacy.json", ErrorFixture)
    const expected = JSON.parse(fixture.body as string) as { error: string; error_description: string }
    const now = Math.floor(Date.now() / 1000)
    for (const options of [{ iat: now - 7200 }, { iat: now + 3600 }, { iat: now, exp: now + 7200 }]) {
      const res = await jwtBearer(await assertion({}, options))
      expect(res.status).toBe(400)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual(expected)
      expect(text).toBe(JSON.stringify(expected, null, 1))
    }
    // the emulator's clock decides: a client clock two hours behind fails too
    emulator.controls.setClockOffset(2 * 3600_000)
    expect((await jwtBearer(await assertion())).status).toBe(400)
    emulator.controls.setClockOffset(0)
  })

  it("wrong audience, unknown account, missing scope, domain-wide delegation", async () => {
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [
        { aud: "https://example.com" },
        400,
        "invalid_grant",
        "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token"
      ],
      [
        { iss: "nobody@emulator-project.iam.gserviceaccount.com" },
        400,
        "invalid_grant",
        "Invalid grant: account not found"
      ],
      [{ scope: "" }, 400, "invalid_scope", "Empty or missing scope not allowed."],
      [
        { sub: "someone@example.com" },
        401,
        "unauthorized_client",
        "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
      ]
    ]
    for (const [claims, status, error, description] of cases) {
      const res = await jwtBearer(await assertion(claims))
      expect(res.status).toBe(status)
      expect(await res.json()).toEqual({ error, error_description: description })
    }
  })
})

describe("refresh-token grant (authorized_user)", () => {
  it("access token, scope, and an id_token for the OAuth client; target_audience is ignored", async () => {
    const res = await refresh({ target_audience: "https://ignored.example" })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, string>
    expect(Object.keys(body)).toEqual(["access_token", "expires_in", "scope", "token_type", "id_token"])
    expect(body["scope"]).toContain("https://www.googleapis.com/auth/cloud-platform")
    const claims = decodeSegment(body["id_token"]!, 1)
    expect(claims).toMatchObject({
      aud: emulator.user.clientId,
      azp: emulator.user.clientId,
      email: emulator.user.email,
      iss: "https://accounts.google.com"
    })
    const atHash = Crypto.createHash("sha256").update(body["access_token"]!).digest().subarray(0, 16).toString(
      "base64url"
    )
    expect(claims["at_hash"]).toBe(atHash)
  })

  it("a narrower scope; no openid -> no id_token", async () => {
    const body = (await (await refresh({ scope: "https://www.googleapis.com/auth/cloud-platform" })).json()) as Record<
      string,
      unknown
    >
    expect(body["scope"]).toBe("https://www.googleapis.com/auth/cloud-platform")
    expect(body["id_token"]).toBeUndefined()
    const invalid = await refresh({ scope: "https://www.googleapis.com/auth/gmail.readonly" })
    expect(invalid.status).toBe(400)
    expect(((await invalid.json()) as Record<string, string>)["error"]).toBe("invalid_scope")
  })

  it("unknown or revoked refresh token: the fixture's body", async () => {
    const fixture = fixtureJson("oauth/error-invalid-grant-expired-or-revoked.json", ErrorFixture)
    const res = await refresh({ refresh_token: "1//0bogus" })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(fixture.body)
    const other = await Emulator.start()
    try {
      other.controls.revokeRefreshToken()
      const revoked = await other.fetch(TOKEN_URL, {
        method: "POST",
        body: new URLSearchParams({
          client_id: other.user.clientId,
          client_secret: other.user.clientSecret,
          grant_type: "refresh_token",
          refresh_token: other.user.refreshToken
        })
      })
      expect(revoked.status).toBe(400)
      expect(await revoked.json()).toEqual(fixture.body)
    } finally {
      await other.close()
    }
  })
})

describe("client and request errors", () => {
  it("unknown client: 401 and the fixture's text; wrong secret: Unauthorized", async () => {
    const fixture = fixtureJson("oauth/error-invalid-client-not-found-401.json", ErrorFixture)
    const res = await refresh({ client_id: "1-abc.apps.googleusercontent.com" })
    expect(res.status).toBe(fixture.status)
    // the fixture's source collapsed the newlines of the body
    expect((await res.text()).replace(/\n */g, " ")).toBe(fixture.body)
    const secret = await refresh({ client_secret: "wrong" })
    expect(secret.status).toBe(401)
    expect(await secret.json()).toEqual({ error: "invalid_client", error_description: "Unauthorized" })
  })

  it("missing parameters, unknown grant types, non-form bodies", async () => {
    const cases: Array<[Record<string, string> | string, string, string]> = [
      [{ grant_type: "password" }, "unsupported_grant_type", "Invalid grant_type: password"],
      [{}, "unsupported_grant_type", "Invalid grant_type: "],
      ["\u0000{not a form", "unsupported_grant_type", "Invalid grant_type: "],
      [{ grant_type: "refresh_token" }, "invalid_request", "Could not determine client ID from request."],
      [
        { grant_type: "refresh_token", client_id: emulator.user.clientId, client_secret: emulator.user.clientSecret },
        "invalid_request",
        "Missing required parameter: refresh_token"
      ],
      [
        { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer" },
        "invalid_request",
        "Missing required parameter: assertion"
      ]
    ]
    for (const [body, error, description] of cases) {
      const res = await post(body)
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ error, error_description: description })
    }
  })

  it("client_secret_basic and JSON bodies are accepted", async () => {
    const basic = Buffer.from(`${emulator.user.clientId}:${emulator.user.clientSecret}`).toString("base64")
    const res = await emulator.fetch(TOKEN_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Basic ${basic}` },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: emulator.user.refreshToken })
    })
    expect(res.status).toBe(200)
  })

  it("the legacy accounts.google.com token URL answers in the legacy format (both legacy fixtures)", async () => {
    const LEGACY = "https://accounts.google.com/o/oauth2/token"
    const client = fixtureJson("oauth/error-invalid-client-legacy-401.json", ErrorFixture)
    const res = await post({
      grant_type: "refresh_token",
      client_id: "1-abc.apps.googleusercontent.com",
      refresh_token: "x"
    }, LEGACY)
    expect(res.status).toBe(client.status)
    expect(await res.text()).toBe(client.body)
    const timeframe = fixtureJson("oauth/error-invalid-grant-jwt-timeframe-legacy.json", ErrorFixture)
    const old = await post({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: await assertion({}, { iat: Math.floor(Date.now() / 1000) - 7200 })
    }, LEGACY)
    expect(old.status).toBe(400)
    // the fixture's source collapsed the newlines of the body
    expect((await old.text()).replace(/\n */g, " ")).toBe(timeframe.body)
  })

  it("GET /token: 405 HTML; unknown path: 404 HTML", async () => {
    const res = await emulator.fetch(TOKEN_URL)
    expect(res.status).toBe(405)
    expect(await res.text()).toContain("Error 405 (Method Not Allowed)!!1")
    const missing = await emulator.fetch("https://oauth2.googleapis.com/nope")
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain("<code>/nope</code> was not found on this server.")
  })
})

describe("tokeninfo", () => {
  it("describes an issued access token and rejects others", async () => {
    const { access_token } = (await (await refresh()).json()) as { access_token: string }
    const info = (await (await emulator.fetch(`https://oauth2.googleapis.com/tokeninfo?access_token=${access_token}`))
      .json()) as Record<string, string>
    expect(info).toMatchObject({ aud: emulator.user.clientId, email: emulator.user.email, expires_in: "3600" })
    const bad = await emulator.fetch("https://oauth2.googleapis.com/tokeninfo?access_token=ya29.nope")
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: "invalid_token", error_description: "Invalid Value" })
  })
})
