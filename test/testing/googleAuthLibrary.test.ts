/**
 * The real google-auth-library obtains access tokens and ID tokens from the
 * emulator through every ADC credential path.
 */
import { GoogleAuth, Impersonated, JWT, UserRefreshClient } from "google-auth-library"
import * as Fs from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { useEmulator, withCredentials } from "../support/emulator.js"

const decode = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>

const emulator = useEmulator({ env: true })

describe("metadata server (GCE_METADATA_HOST)", () => {
  it("GoogleAuth detects the metadata server and gets an access token", async () => {
    const auth = new GoogleAuth({ clientOptions: emulator.clientOptions })
    const token = await auth.getAccessToken()
    expect(token).toMatch(/^ya29\./)
    expect(await auth.getProjectId()).toBe(emulator.projectId)
    const credentials = await auth.getCredentials()
    expect(credentials.client_email).toBe(emulator.serviceAccount.email)
    expect(emulator.controls.count("metadata.token")).toBe(1)
  })

  it("getIdTokenClient(aud).getRequestHeaders() carries a metadata ID token", async () => {
    const auth = new GoogleAuth({ clientOptions: emulator.clientOptions })
    const client = await auth.getIdTokenClient("https://service.example")
    const headers = await client.getRequestHeaders()
    const token = headers.get("authorization")!.replace(/^Bearer /, "")
    const claims = decode(token)
    expect(claims).toMatchObject({
      iss: "https://accounts.google.com",
      aud: "https://service.example",
      email: emulator.serviceAccount.email,
      email_verified: true,
      sub: emulator.serviceAccount.uniqueId
    })
    expect(emulator.controls.count("metadata.identity")).toBeGreaterThanOrEqual(1)
  })
})

describe("service-account key", () => {
  it("JWT client: access token and fetchIdToken", async () => {
    const key = JSON.parse(await Fs.readFile(await emulator.credentials.writeServiceAccountKey(), "utf8"))
    const client = new JWT({
      email: key.client_email,
      key: key.private_key,
      keyId: key.private_key_id,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      ...emulator.clientOptions
    })
    const { token } = await client.getAccessToken()
    expect(token).toMatch(/^ya29\.c\./)
    const idToken = await client.fetchIdToken("https://svc.example")
    expect(decode(idToken)).toMatchObject({
      aud: "https://svc.example",
      email: emulator.serviceAccount.email,
      azp: emulator.serviceAccount.email
    })
  })

  it("ADC file through GoogleAuth", async () => {
    const file = await emulator.credentials.writeServiceAccountKey()
    await withCredentials(file, async () => {
      const auth = new GoogleAuth({
        scopes: "https://www.googleapis.com/auth/cloud-platform",
        clientOptions: emulator.clientOptions
      })
      expect(await auth.getAccessToken()).toMatch(/^ya29\./)
      const headers = await (await auth.getIdTokenClient("https://adc.example")).getRequestHeaders()
      expect(decode(headers.get("authorization")!.slice(7))["aud"]).toBe("https://adc.example")
    })
  })
})

describe("authorized_user (gcloud ADC)", () => {
  it("UserRefreshClient: access token, and fetchIdToken gives aud = client id", async () => {
    const client = new UserRefreshClient({
      clientId: emulator.user.clientId,
      clientSecret: emulator.user.clientSecret,
      refreshToken: emulator.user.refreshToken,
      ...emulator.clientOptions
    })
    const { token } = await client.getAccessToken()
    expect(token).toMatch(/^ya29\./)
    const idToken = await client.fetchIdToken("https://ignored.example")
    const claims = decode(idToken)
    expect(claims["aud"]).toBe(emulator.user.clientId)
    expect(claims["azp"]).toBe(emulator.user.clientId)
    expect(claims["email"]).toBe(emulator.user.email)
  })

  it("ADC file through GoogleAuth", async () => {
    await withCredentials(await emulator.credentials.writeAuthorizedUser(), async () => {
      const auth = new GoogleAuth({ clientOptions: emulator.clientOptions })
      expect(await auth.getAccessToken()).toMatch(/^ya29\./)
      const client = await auth.getIdTokenClient("https://x.example")
      const claims = decode((await client.getRequestHeaders()).get("authorization")!.slice(7))
      expect(claims["aud"]).toBe(emulator.user.clientId)
    })
  })
})

describe("impersonated service account", () => {
  it("Impersonated with a source client: access token and fetchIdToken", async () => {
    const sourceClient = new UserRefreshClient({
      clientId: emulator.user.clientId,
      clientSecret: emulator.user.clientSecret,
      refreshToken: emulator.user.refreshToken,
      ...emulator.clientOptions
    })
    const client = new Impersonated({
      sourceClient,
      targetPrincipal: emulator.impersonationTarget.email,
      targetScopes: ["https://www.googleapis.com/auth/cloud-platform"],
      ...emulator.clientOptions
    })
    const { token } = await client.getAccessToken()
    expect(token).toMatch(/^ya29\.c\./)
    const idToken = await client.fetchIdToken("https://run.example", { includeEmail: true })
    expect(decode(idToken)).toMatchObject({ aud: "https://run.example", email: emulator.impersonationTarget.email })
    const entry = emulator.controls.log.findLast((e) => e.endpoint === "iam.generateIdToken")
    expect(entry?.principal).toBe(emulator.user.email)
  })
})

describe("external account (identity pool, file-sourced) with impersonation", () => {
  it("gets an access token via STS + generateAccessToken; google-auth-library has no ID-token path", async () => {
    await withCredentials(await emulator.credentials.writeExternalAccount({ impersonate: true }), async () => {
      const auth = new GoogleAuth({
        scopes: "https://www.googleapis.com/auth/cloud-platform",
        clientOptions: emulator.clientOptions
      })
      const before = emulator.controls.count("sts.token")
      expect(await auth.getAccessToken()).toMatch(/^ya29\.c\./)
      expect(emulator.controls.count("sts.token")).toBe(before + 1)
      const impersonation = emulator.controls.log.findLast((e) => e.endpoint === "iam.generateAccessToken")
      expect(impersonation?.principal).toBe(emulator.workloadIdentity.principal)
      await expect(auth.getIdTokenClient("https://run.example")).rejects.toThrow(
        /Cannot fetch ID token in this environment/
      )
    })
  })
})
