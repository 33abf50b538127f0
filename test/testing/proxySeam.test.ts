/**
 * google-auth-library paths that ignore `clientOptions`, and the proxy seam
 * that reaches them: an `impersonated_service_account` ADC file (its source
 * client) and an `external_account` file with Google's real STS URL.
 */
import { GoogleAuth, Impersonated } from "google-auth-library"
import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { useEmulator, withCredentials } from "../support/emulator.js"

const decode = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>

const emulator = useEmulator({ env: true })
let untrust: () => void

afterAll(async () => {
  untrust?.()
})

describe("where clientOptions does not reach", () => {
  it("an impersonated ADC file's source client and the Impersonated client get no fetchImplementation", async () => {
    await withCredentials(await emulator.credentials.writeImpersonated(), async () => {
      const auth = new GoogleAuth({ clientOptions: emulator.clientOptions })
      const client = await auth.getClient()
      expect(client).toBeInstanceOf(Impersonated)
      const impersonated = client as Impersonated
      // the requests of Impersonated go through its (private) sourceClient.request
      expect(impersonated["sourceClient"].transporter.defaults.fetchImplementation).toBeUndefined()
      expect(impersonated.transporter.defaults.fetchImplementation).toBeUndefined()
    })
  })
})

describe("the proxy seam (HTTPS_PROXY + the emulator's authority)", () => {
  beforeAll(() => {
    Object.assign(process.env, emulator.proxy.env)
    untrust = emulator.proxy.trustInThisProcess()
  })

  it.each(["authorized_user", "service_account"] as const)(
    "impersonated ADC file with a %s source: access and ID tokens",
    async (source) => {
      await withCredentials(await emulator.credentials.writeImpersonated({ source }), async () => {
        const auth = new GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
        expect(await auth.getAccessToken()).toMatch(/^ya29\.c\./)
        const headers = await (await auth.getIdTokenClient("https://run.example")).getRequestHeaders()
        const claims = decode(headers.get("authorization")!.slice("Bearer ".length))
        expect(claims).toMatchObject({ aud: "https://run.example", email: emulator.impersonationTarget.email })
        const call = emulator.controls.log.findLast((e) => e.endpoint === "iam.generateIdToken")
        expect(call?.principal).toBe(source === "authorized_user" ? emulator.user.email : emulator.serviceAccount.email)
      })
    }
  )

  it("impersonated ADC file with delegates", async () => {
    emulator.controls.grantTokenCreator(emulator.user.email, emulator.serviceAccount.email)
    await withCredentials(
      await emulator.credentials.writeImpersonated({ delegates: [emulator.serviceAccount.email] }),
      async () => {
        const auth = new GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
        expect(await auth.getAccessToken()).toMatch(/^ya29\.c\./)
        expect(emulator.controls.log.findLast((e) => e.endpoint === "iam.generateAccessToken")?.detail).toContain(
          `delegates=${emulator.serviceAccount.email}`
        )
      }
    )
    emulator.controls.revokeTokenCreator(emulator.user.email, emulator.serviceAccount.email)
  })

  it("external account file with Google's URLs", async () => {
    await withCredentials(
      await emulator.credentials.writeExternalAccount({ impersonate: true, endpoints: "google" }),
      async () => {
        const before = emulator.controls.count("sts.token")
        const auth = new GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
        expect(await auth.getAccessToken()).toMatch(/^ya29\.c\./)
        expect(emulator.controls.count("sts.token")).toBe(before + 1)
      }
    )
  })

  it("refuses a CONNECT to any other host", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const proxy = new URL(emulator.proxy.url)
      const req = Http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT", path: "example.com:443" })
      req.on("connect", (res, socket) => {
        socket.destroy()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
    expect(status).toBe(403)
  })
})
