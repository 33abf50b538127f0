/**
 * Hostile matrix for the default allow-list of access tokens: `https://*.googleapis.com`
 * and the Vertex AI dedicated endpoint hosts `https://{id}.{region}-{n}.prediction.vertexai.goog`.
 *
 * 1. The rule itself (`AuthHttpClient.mayReceive`, the one rule every client uses): URLs
 *    built to slip past a suffix match (look-alike suffixes, the bare suffix, deeper and
 *    shallower names, a trailing dot, userinfo, `\`/`#`/`?` tricks, percent-encoded and
 *    full-width dots, punycode, plain http, other schemes, Private Service Connect
 *    addresses) for access and ID targets, with and without `origins`.
 * 2. The wire: VertexOpenAI on a dedicated endpoint (no `origins`), reached under its
 *    real name (test/support/googleHosts), answers 301 / 302 / 303 / 307 / 308 towards
 *    every hostile destination and two Google hosts, on undici and on fetch, and through
 *    SigningFetch. Every request every server received is recorded by its `Host`; a
 *    delivery is a request carrying the token to a host the rule refuses. The Google
 *    destinations must receive it (the cells can see a delivery).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { Agent } from "undici"
import * as AuthService from "../../src/auth/AuthService.js"
import type { TokenTarget } from "../../src/auth/TokenTarget.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import * as SigningFetch from "../../src/http/SigningFetch.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as VertexOpenAI from "../../src/model/openai/VertexOpenAI.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import { targetOf } from "../../src/proxy/internal/routes.js"
import { useEmulator } from "../support/emulator.js"
import * as GoogleHosts from "../support/googleHosts.js"

const emulator = useEmulator({ env: true })

const dedicated = "1234567890.us-central1-987654321.prediction.vertexai.goog"
const access: TokenTarget = { kind: "access" }

// -----------------------------------------------------------------------------
// 1. The rule
// -----------------------------------------------------------------------------

/** [name, url, may an access token (no origins) go there] */
const ruleCases: ReadonlyArray<readonly [string, string, boolean]> = [
  ["dedicated endpoint", `https://${dedicated}/v1beta1/x`, true],
  ["dedicated endpoint, fast tryout uid", "https://42.europe-west4-fasttryout.prediction.vertexai.goog/", true],
  ["dedicated endpoint, upper case (the parser lowers it)", `https://${dedicated.toUpperCase()}/`, true],
  ["dedicated endpoint, :443", `https://${dedicated}:443/`, true],
  ["dedicated endpoint, another port (the name is Google's)", `https://${dedicated}:8443/`, true],
  [
    "dedicated endpoint, %2E for a dot (the parser decodes it)",
    `https://1234567890.us-central1-987654321.prediction%2Evertexai.goog/`,
    true
  ],
  [
    "dedicated endpoint, full-width dot (the parser maps it)",
    "https://1234567890.us-central1-987654321.prediction\u3002vertexai.goog/",
    true
  ],
  ["multi-region us", "https://aiplatform.us.rep.googleapis.com/v1/x", true],
  ["multi-region eu", "https://aiplatform.eu.rep.googleapis.com/v1/x", true],
  ["regional", "https://us-central1-aiplatform.googleapis.com/v1/x", true],
  [
    "Private Service Connect for Google APIs (*.p.googleapis.com)",
    "https://aiplatform-vertexpsc.p.googleapis.com/",
    true
  ],
  ["plain http to a dedicated endpoint", `http://${dedicated}/`, false],
  ["ws scheme", `wss://${dedicated}/`, false],
  ["ftp scheme", `ftp://${dedicated}/`, false],
  ["the bare suffix prediction.vertexai.goog", "https://prediction.vertexai.goog/", false],
  ["vertexai.goog", "https://vertexai.goog/", false],
  ["another vertexai.goog name", "https://x.vertexai.goog/", false],
  ["one label under the suffix", "https://us-central1-987654321.prediction.vertexai.goog/", false],
  ["three labels under the suffix", `https://a.${dedicated}/`, false],
  [
    "look-alike: evil-prediction.vertexai.goog.attacker.com",
    "https://evil-prediction.vertexai.goog.attacker.com/",
    false
  ],
  ["the dedicated name under an attacker's domain", `https://${dedicated}.attacker.com/`, false],
  ["trailing dot", `https://${dedicated}./`, false],
  ["trailing dot on googleapis.com", "https://aiplatform.googleapis.com./", false],
  ["prediction-vertexai.goog", "https://1.us-central1-2.prediction-vertexai.goog/", false],
  [
    "predictionxvertexai.goog (an unescaped dot would match)",
    "https://1.us-central1-2.predictionxvertexai.goog/",
    false
  ],
  ["prediction.vertexaixgoog", "https://1.us-central1-2.prediction.vertexaixgoog/", false],
  ["no dot before prediction", "https://1.us-central1-2evilprediction.vertexai.goog/", false],
  ["userinfo", `https://user:secret@${dedicated}/`, false],
  ["the dedicated name as userinfo of an attacker's host", `https://${dedicated}@attacker.com/`, false],
  ["backslash before @", `https://attacker.com\\@${dedicated}/`, false],
  ["fragment before @", `https://attacker.com#@${dedicated}/`, false],
  ["query holding the suffix", "https://attacker.com?.prediction.vertexai.goog", false],
  ["path holding the suffix", "https://attacker.com/.prediction.vertexai.goog", false],
  ["%2E before an attacker's domain", `https://${dedicated}%2Eattacker.com/`, false],
  ["leading hyphen label", "https://-1.us-central1-2.prediction.vertexai.goog/", false],
  ["underscore label", "https://1_2.us-central1-2.prediction.vertexai.goog/", false],
  ["Cyrillic o in goog (punycode)", "https://1.us-central1-2.prediction.vertexai.g\u043eog/", false],
  ["googleapis.com under an attacker's domain", "https://aiplatform.googleapis.com.attacker.com/", false],
  ["Private Service Connect IP", "https://10.128.0.5/v1beta1/x", false],
  ["Private Service Connect DNS name of the user's", "https://vertex.psc.internal.example/", false],
  ["loopback over https", "https://127.0.0.1/", false],
  ["not a URL", "https://", false]
]

const figures = {
  ruleCases: 0,
  wireCells: 0,
  requests: 0,
  deliveriesOutside: 0,
  googleDeliveries: 0
}

describe("the access-token allow-list resists URLs built to pass a suffix match", () => {
  it.each(ruleCases)("%s", (_name, url, expected) => {
    figures.ruleCases += 1
    expect(AuthHttpClient.mayReceive(access, url)).toBe(expected)
    // an ID token never goes to a Google host it was not minted for
    expect(AuthHttpClient.mayReceive({ kind: "id", audience: "https://svc-abc-uc.a.run.app" }, url)).toBe(false)
  })

  it("a Private Service Connect address receives the token only when listed in origins, at that origin only", () => {
    const origins = ["https://10.128.0.5"]
    expect(AuthHttpClient.mayReceive(access, "https://10.128.0.5/v1beta1/x", { origins })).toBe(true)
    expect(AuthHttpClient.mayReceive(access, "https://10.128.0.5:8443/v1beta1/x", { origins })).toBe(false)
    expect(AuthHttpClient.mayReceive(access, "http://10.128.0.5/v1beta1/x", { origins })).toBe(false)
    expect(AuthHttpClient.mayReceive(access, "https://10.128.0.6/v1beta1/x", { origins })).toBe(false)
  })

  it("the proxy gives dedicated endpoints and Google API hosts an access token, anything else an ID token", () => {
    expect(targetOf({ prefix: "/", upstream: `https://${dedicated}` }).kind).toBe("access")
    expect(targetOf({ prefix: "/", upstream: "https://aiplatform.eu.rep.googleapis.com" }).kind).toBe("access")
    expect(targetOf({ prefix: "/", upstream: "https://evil-prediction.vertexai.goog.attacker.com" }).kind).toBe("id")
    expect(targetOf({ prefix: "/", upstream: "https://prediction.vertexai.goog" }).kind).toBe("id")
  })
})

// -----------------------------------------------------------------------------
// 2. The wire
// -----------------------------------------------------------------------------

const otherDedicated = "77.us-central1-987654321.prediction.vertexai.goog"
const hostile = [
  "evil-prediction.vertexai.goog.attacker.com",
  "prediction.vertexai.goog",
  `a.${dedicated}`,
  `${dedicated}.attacker.com`,
  "attacker.example"
]

let hosts: GoogleHosts.GoogleHosts
/** [name, destination URL, is it a Google host (must get the token)] */
let destinations: ReadonlyArray<readonly [string, string, boolean]> = []

beforeAll(async () => {
  hosts = await GoogleHosts.start([dedicated, otherDedicated, "aiplatform.googleapis.com", ...hostile])
  destinations = [
    ...hostile.map((host) => [host, `https://${host}/final`, false] as const),
    ["plain http to the dedicated name", `http://${dedicated}/final`, false],
    ["userinfo", `https://user:secret@${dedicated}/final`, false],
    ["IP literal of the same server", `https://127.0.0.1:${hosts.tlsPort}/final`, false],
    ["another dedicated endpoint (Google's)", `https://${otherDedicated}/final`, true],
    ["aiplatform.googleapis.com (Google's)", "https://aiplatform.googleapis.com/final", true]
  ]
  hosts.handler = (req, res) => {
    req.resume()
    const match = /^\/r\/(\d{3})\/(\d+)\//.exec(req.url ?? "")
    if (match !== null) {
      res.writeHead(Number(match[1]), { location: destinations[Number(match[2])]![1] })
      return res.end("moved")
    }
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok")
  }
})

afterAll(async () => {
  await hosts.close()
  console.log(`[origin-google-endpoints] ${JSON.stringify(figures)}`)
})

const statuses = [301, 302, 303, 307, 308] as const

/** The host name a recorded request was for (`Host` without the port). */
const hostnameOf = (host: string) => new URL(`https://${host}`).hostname

type Send = (status: number, destination: number) => Promise<void>

/** VertexOpenAI on the dedicated endpoint, its base URL the redirecting path of a cell. */
const viaModel = <R>(client: Layer.Layer<HttpClient.HttpClient | R>) => {
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(
      AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
      client
    ).pipe(Layer.orDie)
  )
  const send: Send = (status, destination) =>
    runtime.runPromise(
      Effect.flatMap(ModelService, (model) =>
        model.generate({ model: "google/gemma-3-12b-it", contents: [ModelRequest.user("hi")] })).pipe(
          Effect.provide(VertexOpenAI.layer({
            project: "p",
            location: "us-central1",
            endpoint: "1234567890",
            baseUrl: `https://${dedicated}/r/${status}/${destination}`,
            retry: RetryPolicy.none
          })),
          Effect.ignore
        )
    )
  return { send, close: () => runtime.dispose() }
}

/**
 * fetch with the same connector as `hosts.httpClient` (an undici Agent as `dispatcher`).
 * The RequestInit sits in the callers' context (the signing middleware adds
 * `redirect: "manual"` to it, as it does to one given only to the client layer).
 */
const fetchLayer = (): Layer.Layer<HttpClient.HttpClient | FetchHttpClient.RequestInit> => {
  const init: RequestInit & { readonly dispatcher: Agent } = { dispatcher: hosts.dispatcher(), keepalive: false }
  return Layer.merge(FetchHttpClient.layer, Layer.succeed(FetchHttpClient.RequestInit, init))
}

const viaSigningFetch = () => {
  const runtime = ManagedRuntime.make(
    AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }).pipe(Layer.orDie)
  )
  const dispatcher = hosts.dispatcher()
  const send: Send = async (status, destination) => {
    const signed = await runtime.runPromise(SigningFetch.makeEffect({
      targets: { [`https://${dedicated}`]: "access" },
      fetch: (input, init) => fetch(input, { ...init, dispatcher } as RequestInit)
    }))
    try {
      const response = await signed(`https://${dedicated}/r/${status}/${destination}/chat`, {
        method: "POST",
        body: "{}"
      })
      await response.text()
    } catch {
      // a refused hop is an error: the deliveries are what counts
    }
  }
  return { send, close: () => runtime.dispose() }
}

const clients: ReadonlyArray<readonly [string, () => { send: Send; close: () => Promise<unknown> }]> = [
  ["VertexOpenAI on undici", () => viaModel(hosts.httpClient)],
  ["VertexOpenAI on fetch", () => viaModel(fetchLayer())],
  ["SigningFetch", viaSigningFetch]
]

describe.each(clients)(
  "%s: a dedicated endpoint's redirect carries the token only to Google's hosts",
  (_name, make) => {
    it("every status × destination", async () => {
      const client = make()
      const outside: Array<string> = []
      const missing: Array<string> = []
      try {
        for (const status of statuses) {
          for (let d = 0; d < destinations.length; d++) {
            const [name, , google] = destinations[d]!
            hosts.seen.length = 0
            await client.send(status, d)
            figures.wireCells += 1
            figures.requests += hosts.seen.length
            const first = hosts.seen[0]
            if (first === undefined || hostnameOf(first.host) !== dedicated || !first.carriesToken) {
              missing.push(`${status} ${name}: the dedicated endpoint got no token`)
            }
            const after = hosts.seen.slice(1)
            const delivered = after.filter((s) => s.carriesToken)
            for (const s of delivered) {
              const host = hostnameOf(s.host)
              if (host === otherDedicated || host === "aiplatform.googleapis.com") figures.googleDeliveries += 1
              else {
                figures.deliveriesOutside += 1
                outside.push(`${status} → ${name}: ${s.scheme}://${s.host}`)
              }
            }
            // 301/302/303 turn the POST into a GET and 307/308 keep it: either way a
            // Google destination is reached with the token
            if (google && delivered.length === 0) missing.push(`${status} ${name}: the Google host got no token`)
          }
        }
      } finally {
        await client.close()
      }
      expect(outside).toEqual([])
      expect(missing).toEqual([])
    })
  }
)
