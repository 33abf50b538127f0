/**
 * A response of ours prints no credential, wherever it is printed. `@effect/platform`
 * redacts headers only inside a fiber (its logger sets the context), so a response
 * printed outside one (`console.log(response)` in a `.then`, `JSON.stringify` in a
 * `catch`) showed an `Authorization` header the caller set by hand, and the server's
 * `Set-Cookie`. Matrix: our two response classes (`UndiciHttpClient`'s, the signing
 * middleware's `ScrubbedResponse` over it) × every credential header the caller may set
 * by hand × every print form × printed in a promise callback and in a fiber's own code
 * (neither inside the logger's redaction context); plus the server's
 * `Set-Cookie`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"
import * as Util from "node:util"
import * as AuthService from "../../src/auth/AuthService.js"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import { credentialHeaders } from "../../src/http/internal/printable.js"
import { ScrubbedResponse } from "../../src/http/internal/scrub.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import { serve, type Served, useWorld } from "./support.js"

const world = useWorld()
const emulator = world.emulator

const secret = (name: string) => `${name}-${Crypto.randomBytes(12).toString("base64url")}`
const cookie = secret("session")

let server: Served
beforeAll(async () => {
  server = await serve((req, res) => {
    req.resume()
    res.writeHead(200, { "content-type": "application/json", "set-cookie": `session=${cookie}; HttpOnly` })
    res.end("{\"ok\":true}")
  })
})
afterAll(() => server.close())

/** The headers a caller may set by hand (`set-cookie` is the server's). */
const requestHeaders = credentialHeaders.filter((name) => name !== "set-cookie")

/** Every way a user prints a value. */
const printed = (response: HttpClientResponse.HttpClientResponse): Record<string, string> => ({
  "JSON.stringify": JSON.stringify(response),
  String: String(response),
  "util.inspect": Util.inspect(response, { depth: Infinity, getters: true }),
  "toJSON, inspected": Util.inspect(response.toJSON(), { depth: Infinity })
})

const clientNames = ["UndiciHttpClient", "withAuth over UndiciHttpClient"] as const

/** The client: `UndiciHttpClient`, or the signing middleware over it (an ID token for the server). */
const clientOf = (name: (typeof clientNames)[number]) =>
  name === "UndiciHttpClient"
    ? HttpClient.HttpClient
    : Effect.map(HttpClient.HttpClient, AuthHttpClient.withAuth({ kind: "id", audience: server.url }))

const layer = () =>
  Layer.mergeAll(
    UndiciHttpClient.layer,
    AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
  ).pipe(Layer.orDie)

describe.each(clientNames)("a response of %s", (clientName) => {
  it.effect.each(requestHeaders)(
    "with %s set by hand prints no value of it (4 forms, in a promise callback and in the fiber's code), nor the server's Set-Cookie",
    (header) =>
      Effect.gen(function*() {
        const client = yield* clientOf(clientName)
        const value = secret(header)
        // the ID token's audience is the server itself: the token goes in Authorization, a
        // hand-set one is replaced by it; every other header goes out as the caller set it
        const response = yield* client.execute(
          HttpClientRequest.get(`${server.url}/x`, { headers: { [header]: value } })
        )
        if (clientName !== "UndiciHttpClient") expect(response).toBeInstanceOf(ScrubbedResponse)
        const outside = yield* Effect.promise(() => Promise.resolve(printed(response)))
        const inside = printed(response)
        let forms = 0
        for (const [where, text] of [...Object.entries(outside), ...Object.entries(inside)]) {
          forms++
          expect(text, where).not.toContain(value)
          expect(text, where).not.toContain(cookie)
          expect(text, where).toContain("HttpClientResponse")
        }
        expect(forms).toBe(8)
        // the header is named (redacted), not dropped: the print still says what was sent
        if (clientName === "UndiciHttpClient" || header !== "authorization") {
          expect(JSON.parse(outside["JSON.stringify"]!).request.headers[header]).toBe("<redacted>")
        }
        expect(JSON.parse(outside["JSON.stringify"]!).headers["set-cookie"]).toBe("<redacted>")
      }).pipe(Effect.provide(layer()))
  )
})

describe("the server saw what the caller sent (the redaction is only in the print)", () => {
  it.effect("a hand-set x-goog-api-key reaches the server as set", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const value = secret("x-goog-api-key")
      const before = server.seen.length
      yield* client.execute(HttpClientRequest.get(`${server.url}/x`, { headers: { "x-goog-api-key": value } }))
      expect(server.seen[before]!.headers["x-goog-api-key"]).toBe(value)
    }).pipe(Effect.provide(layer())))
})
