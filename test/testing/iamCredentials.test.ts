/**
 * IAM Credentials generateAccessToken / generateIdToken against
 * fixtures/oauth/iam-generate-access-token-error-403.json.
 */
import { describe, expect, it } from "vitest"
import { useEmulator } from "../support/emulator.js"
import { decodeSegment, ErrorFixture, fixtureJson } from "./fixtures.js"

const emulator = useEmulator()
const iam = (email: string, method: "generateAccessToken" | "generateIdToken") =>
  `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${email}:${method}`

const call = (url: string, token: string | undefined, body: unknown) =>
  emulator.fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` })
    },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const userToken = async (scope?: string) => {
  const res = await emulator.fetch("https://oauth2.googleapis.com/token", {
    method: "POST",
    body: new URLSearchParams({
      client_id: emulator.user.clientId,
      client_secret: emulator.user.clientSecret,
      grant_type: "refresh_token",
      refresh_token: emulator.user.refreshToken,
      ...(scope === undefined ? {} : { scope })
    })
  })
  return ((await res.json()) as { access_token: string }).access_token
}

const metadataToken = async () => {
  const res = await fetch(`${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/token`, {
    headers: { "Metadata-Flavor": "Google" }
  })
  return ((await res.json()) as { access_token: string }).access_token
}

describe("generateAccessToken", () => {
  it("returns {accessToken, expireTime} for a permitted caller", async () => {
    const res = await call(iam(emulator.impersonationTarget.email, "generateAccessToken"), await userToken(), {
      scope: ["https://www.googleapis.com/auth/cloud-platform"],
      lifetime: "1800s",
      delegates: []
    })
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8")
    const body = (await res.json()) as { accessToken: string; expireTime: string }
    expect(Object.keys(body)).toEqual(["accessToken", "expireTime"])
    expect(body.expireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Math.abs(Date.parse(body.expireTime) - (Date.now() + 1800_000))).toBeLessThan(2000)
    expect(emulator.controls.log.at(-1)).toMatchObject({
      endpoint: "iam.generateAccessToken",
      principal: emulator.user.email
    })
  })

  it("a caller without the token-creator role: the fixture's 403 byte for byte", async () => {
    const fixture = fixtureJson("oauth/iam-generate-access-token-error-403.json", ErrorFixture)
    // the SA may impersonate the target, but not itself
    const res = await call(iam(emulator.serviceAccount.email, "generateAccessToken"), await metadataToken(), {
      scope: ["https://www.googleapis.com/auth/cloud-platform"]
    })
    expect(res.status).toBe(fixture.status)
    expect(await res.text()).toBe(fixture.body)
  })

  it("revoking and granting the role", async () => {
    const token = await userToken()
    const url = iam(emulator.impersonationTarget.email, "generateAccessToken")
    emulator.controls.revokeTokenCreator(emulator.user.email, emulator.impersonationTarget.email)
    expect((await call(url, token, { scope: ["s"] })).status).toBe(403)
    emulator.controls.grantTokenCreator(emulator.user.email, emulator.impersonationTarget.email)
    expect((await call(url, token, { scope: ["s"] })).status).toBe(200)
  })

  it("delegation chains need every link", async () => {
    const token = await userToken()
    const url = iam(emulator.impersonationTarget.email, "generateAccessToken")
    const body = { scope: ["s"], delegates: [`projects/-/serviceAccounts/${emulator.serviceAccount.email}`] }
    expect((await call(url, token, body)).status).toBe(403)
    emulator.controls.grantTokenCreator(emulator.user.email, emulator.serviceAccount.email)
    expect((await call(url, token, body)).status).toBe(200)
    emulator.controls.revokeTokenCreator(emulator.user.email, emulator.serviceAccount.email)
  })
})

describe("generateIdToken", () => {
  it("includeEmail / useEmailAzp decide the email claims and azp", async () => {
    const token = await userToken()
    const url = iam(emulator.impersonationTarget.email, "generateIdToken")
    const withEmail = (await (await call(url, token, {
      audience: "https://a.example",
      includeEmail: true,
      useEmailAzp: true,
      delegates: []
    })).json()) as { token: string }
    expect(Object.keys(withEmail)).toEqual(["token"])
    expect(decodeSegment(withEmail.token, 1)).toMatchObject({
      aud: "https://a.example",
      azp: emulator.impersonationTarget.email,
      email: emulator.impersonationTarget.email,
      sub: emulator.impersonationTarget.uniqueId
    })
    const without = (await (await call(url, token, { audience: "https://a.example" })).json()) as { token: string }
    expect(Object.keys(decodeSegment(without.token, 1))).toEqual(["iss", "sub", "aud", "azp", "exp", "iat"])
    expect(decodeSegment(without.token, 1)["azp"]).toBe(emulator.impersonationTarget.uniqueId)
  })

  it("403 names iam.serviceAccounts.getOpenIdToken", async () => {
    const fixture = fixtureJson("oauth/iam-generate-access-token-error-403.json", ErrorFixture)
    const res = await call(iam(emulator.serviceAccount.email, "generateIdToken"), await metadataToken(), {
      audience: "a"
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toBe(
      (fixture.body as string).replaceAll("iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken")
    )
  })
})

describe("authentication and request errors", () => {
  const url = () => iam(emulator.impersonationTarget.email, "generateAccessToken")
  const error = async (res: Response) =>
    ((await res.json()) as {
      error: { code: number; status: string; message: string; details?: Array<Record<string, unknown>> }
    }).error

  it("no token, an unknown token, an expired token: 401 UNAUTHENTICATED", async () => {
    const missing = await call(url(), undefined, { scope: ["s"] })
    expect(missing.status).toBe(401)
    expect(missing.headers.get("www-authenticate")).toBe("Bearer realm=\"https://accounts.google.com/\"")
    const missingError = await error(missing)
    expect(missingError).toMatchObject({ code: 401, status: "UNAUTHENTICATED" })
    expect(missingError.details?.[0]).toMatchObject({
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "CREDENTIALS_MISSING"
    })

    const unknown = await call(url(), "ya29.forged", { scope: ["s"] })
    expect(unknown.status).toBe(401)
    expect((await error(unknown)).message).toMatch(/^Request had invalid authentication credentials\./)

    const token = await userToken()
    emulator.controls.setClockOffset(3601_000)
    const expired = await call(url(), token, { scope: ["s"] })
    expect(expired.status).toBe(401)
    expect((await error(expired)).details?.[0]?.["reason"]).toBe("ACCESS_TOKEN_EXPIRED")
  })

  it("a token without cloud-platform or iam scope: 403 insufficient scopes", async () => {
    const res = await call(url(), await userToken("openid"), { scope: ["s"] })
    expect(res.status).toBe(403)
    expect((await error(res)).details?.[0]?.["reason"]).toBe("ACCESS_TOKEN_SCOPE_INSUFFICIENT")
  })

  it("unknown account 404, malformed JSON / unknown fields / bad values 400", async () => {
    const token = await userToken()
    const notFound = await call(iam("ghost@emulator-project.iam.gserviceaccount.com", "generateAccessToken"), token, {
      scope: ["s"]
    })
    expect(notFound.status).toBe(404)
    expect(await error(notFound)).toEqual({
      code: 404,
      message: "Not found; Gaia id not found for email ghost@emulator-project.iam.gserviceaccount.com",
      status: "NOT_FOUND"
    })
    for (
      const body of [
        "{not json",
        { scope: ["s"], bogus: 1 },
        { scope: [] },
        { scope: ["s"], lifetime: "1h" },
        { scope: ["s"], lifetime: "7200s" },
        { scope: ["s"], delegates: "x" },
        "[]"
      ]
    ) {
      const res = await call(url(), token, body)
      expect(res.status).toBe(400)
      expect(await error(res)).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" })
    }
    const malformed = await call(iam("%E0%A4%A", "generateAccessToken"), token, { scope: ["s"] })
    expect(malformed.status).toBe(404)
    const noAudience = await call(iam(emulator.impersonationTarget.email, "generateIdToken"), token, {
      includeEmail: true
    })
    expect(noAudience.status).toBe(400)
  })
})
