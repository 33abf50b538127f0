/**
 * STS token exchange for the workload identity pool, and Google's published
 * signing keys (JWKS and PEM) checked by jose and by google-auth-library.
 */
import { OAuth2Client } from "google-auth-library"
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT } from "jose"
import * as Crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator()
const STS = "https://sts.googleapis.com/v1/token"

const exchange = (overrides: Record<string, string> = {}) =>
  emulator.fetch(STS, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      audience: emulator.workloadIdentity.audience,
      scope: "https://www.googleapis.com/auth/cloud-platform",
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      subject_token: emulator.workloadIdentity.mintSubjectToken(),
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      ...overrides
    })
  })

const identityToken = async (audience: string) =>
  (await fetch(
    `${emulator.metadataUrl}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${
      encodeURIComponent(audience)
    }&format=full`,
    {
      headers: { "Metadata-Flavor": "Google" }
    }
  )).text()

describe("STS", () => {
  it("exchanges a subject token for a federated access token", async () => {
    const res = await exchange()
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(["access_token", "issued_token_type", "token_type", "expires_in"])
    expect(body).toMatchObject({
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      expires_in: 3600
    })
    expect(emulator.controls.log.at(-1)).toMatchObject({
      endpoint: "sts.token",
      principal: emulator.workloadIdentity.principal
    })
  })

  it("the federated principal can get an ID token for the impersonation target (what google-auth-library does not do)", async () => {
    const { access_token } = (await (await exchange()).json()) as { access_token: string }
    const res = await emulator.fetch(
      `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${emulator.impersonationTarget.email}:generateIdToken`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${access_token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ audience: "https://run.example", includeEmail: true })
      }
    )
    expect(res.status).toBe(200)
  })

  it("bad subject tokens and parameters: OAuth errors, never a crash", async () => {
    const { privateKey } = await generateKeyPair("RS256")
    const now = Math.floor(Date.now() / 1000)
    const forged = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer(emulator.workloadIdentity.issuer)
      .setAudience(`https:${emulator.workloadIdentity.audience}`)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey)
    const cases: Array<[Record<string, string>, string]> = [
      [{ subject_token: "garbage" }, "invalid_grant"],
      [{ subject_token: forged }, "invalid_grant"],
      [{
        subject_token: emulator.workloadIdentity.mintSubjectToken({ iatOffsetSeconds: -7200, lifetimeSeconds: 3600 })
      }, "invalid_grant"],
      [
        { subject_token: emulator.workloadIdentity.mintSubjectToken({ audience: "https://other.example" }) },
        "invalid_grant"
      ],
      [
        { audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q" },
        "invalid_target"
      ],
      [{ grant_type: "client_credentials" }, "unsupported_grant_type"],
      [{ subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }, "invalid_request"],
      [{ subject_token: "" }, "invalid_request"]
    ]
    for (const [overrides, error] of cases) {
      const res = await exchange(overrides)
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: string; error_description: string }
      expect(body.error).toBe(error)
      expect(typeof body.error_description).toBe("string")
    }
  })
})

describe("certs", () => {
  it("JWKS: {kty, alg, use, kid, n, e} for the current and the rotated key; jose verifies an emulator ID token", async () => {
    const jwks = (await (await fetch(emulator.jwksUrl)).json()) as { keys: Array<Record<string, string>> }
    expect(jwks.keys).toHaveLength(2)
    for (const key of jwks.keys) {
      expect(Object.keys(key)).toEqual(["kty", "alg", "use", "kid", "n", "e"])
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" })
    }
    const token = await identityToken("https://jose.example")
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(emulator.jwksUrl)), {
      issuer: emulator.issuer,
      audience: "https://jose.example"
    })
    expect(payload["email"]).toBe(emulator.serviceAccount.email)
    expect(protectedHeader.kid).toBe(jwks.keys[0]!["kid"])
  })

  it("the same JWKS through the fetch seam at Google's URL, and key rotation", async () => {
    const google = (await (await emulator.fetch("https://www.googleapis.com/oauth2/v3/certs")).json()) as {
      keys: Array<{ kid: string }>
    }
    const kid = await emulator.controls.rotateSigningKeys()
    const rotated = (await (await emulator.fetch("https://www.googleapis.com/oauth2/v3/certs")).json()) as {
      keys: Array<{ kid: string }>
    }
    expect(rotated.keys.map((k) => k.kid)).toEqual([kid, google.keys[0]!.kid])
    const token = await identityToken("https://after.example")
    expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid).toBe(kid)
  })

  it("PEM certificates at /oauth2/v1/certs: google-auth-library's verifyIdToken accepts emulator ID tokens", async () => {
    const pems = (await (await emulator.fetch("https://www.googleapis.com/oauth2/v1/certs")).json()) as Record<
      string,
      string
    >
    for (const pem of Object.values(pems)) {
      const cert = new Crypto.X509Certificate(pem)
      expect(cert.verify(cert.publicKey)).toBe(true)
    }
    const client = new OAuth2Client({ transporterOptions: { fetchImplementation: emulator.fetch } })
    const ticket = await client.verifyIdToken({
      idToken: await identityToken("https://gal.example"),
      audience: "https://gal.example"
    })
    expect(ticket.getPayload()?.email).toBe(emulator.serviceAccount.email)
  })

  it("a service account's own keys (robot x509 and jwk)", async () => {
    const email = encodeURIComponent(emulator.serviceAccount.email)
    const x509 =
      (await (await emulator.fetch(`https://www.googleapis.com/robot/v1/metadata/x509/${email}`)).json()) as Record<
        string,
        string
      >
    expect(Object.keys(x509)).toEqual([emulator.serviceAccount.privateKeyId])
    const jwk =
      (await (await emulator.fetch(`https://www.googleapis.com/service_accounts/v1/jwk/${email}`)).json()) as {
        keys: Array<{ kid: string }>
      }
    expect(jwk.keys[0]!.kid).toBe(emulator.serviceAccount.privateKeyId)
  })
})
