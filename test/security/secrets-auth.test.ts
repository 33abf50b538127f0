/**
 * No secret in anything a user could print, across the auth failures we can force:
 * every credential source (metadata server, service-account key file, gcloud
 * `authorized_user` file) × each token kind × the token endpoint answering 400, 500,
 * garbage, hanging or closing the connection; a corrupt private key (through `keyFile`
 * and through `credentials`); an ID token for a refused audience; and the successful
 * fetches. Each cell first fetches the other kind of token (a live secret in the cache
 * that must not show up either), then arms the fault. Searched: the error in every form,
 * the exit, Debug logs, console, process warnings and spans.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as AuthService from "../../src/auth/AuthService.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { leakReport, observe, useWorld } from "./support.js"

const world = useWorld()
const emulator = world.emulator
const audience = "https://gemma-abc-uc.a.run.app"

type Source = "metadata" | "service-account" | "authorized-user"
type Kind = "access" | "id"

const keyFiles: Partial<Record<Source, string>> = {}
const keyFileOf = async (source: Source): Promise<string | undefined> => {
  if (source === "metadata") return undefined
  keyFiles[source] ??= source === "service-account"
    ? await emulator.credentials.writeServiceAccountKey()
    : await emulator.credentials.writeAuthorizedUser()
  return keyFiles[source]
}

const endpointOf = (source: Source, kind: Kind): Emulator.Endpoint =>
  source === "metadata" ? (kind === "access" ? "metadata.token" : "metadata.identity") : "oauth.token"

const faults: ReadonlyArray<{ readonly name: string; readonly failure: Emulator.Failure }> = [
  {
    name: "400 invalid_grant",
    failure: {
      kind: "status",
      status: 400,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: "invalid_grant", error_description: "Invalid JWT Signature." })
    }
  },
  { name: "500", failure: { kind: "status", status: 500, body: "Internal Server Error" } },
  { name: "garbage 200", failure: { kind: "garbage" } },
  { name: "hang", failure: { kind: "hang" } },
  { name: "connection closed", failure: { kind: "close" } }
]

const fetchToken = (kind: Kind) =>
  Effect.flatMap(AuthService.AuthService, (auth) => kind === "access" ? auth.accessToken() : auth.idToken(audience))

/** Warm the other kind, arm the fault, fetch this kind; the fault is cleared whatever happens. */
const faultCell = (keyFile: string | undefined, kind: Kind, endpoint: Emulator.Endpoint, failure: Emulator.Failure) =>
  Effect.gen(function*() {
    yield* fetchToken(kind === "access" ? "id" : "access")
    yield* Effect.sync(() => emulator.controls.fail(endpoint, failure))
    return yield* fetchToken(kind)
  }).pipe(
    Effect.provide(world.auth(keyFile === undefined ? {} : { keyFile })),
    Effect.ensuring(Effect.sync(() => emulator.controls.clearFailures()))
  )

describe.each(["metadata", "service-account", "authorized-user"] as const)("%s credentials", (source) => {
  describe.each(["access", "id"] as const)("%s token", (kind) => {
    it.effect.each(faults)(
      "token endpoint $name: no secret in any printed form",
      ({ failure }) =>
        Effect.gen(function*() {
          const keyFile = yield* Effect.promise(() => keyFileOf(source))
          const endpoint = endpointOf(source, kind)
          const observed = yield* observe(faultCell(keyFile, kind, endpoint, failure), world)
          // gcloud user credentials cannot mint ID tokens for an arbitrary audience: that refusal is the path
          expect(Exit.isFailure(observed.exit)).toBe(true)
          expect(
            emulator.controls.log.some((l) => l.endpoint === endpoint && (l.detail ?? "").startsWith("injected"))
              || (source === "authorized-user" && kind === "id")
          ).toBe(true)
          expect(leakReport(world.secrets, observed.forms)).toBe("")
        })
    )
  })

  it.effect("both tokens fetched: no secret in any printed form (logs and spans of the success path)", () =>
    Effect.gen(function*() {
      const keyFile = yield* Effect.promise(() => keyFileOf(source))
      const program = Effect.all([fetchToken("access"), fetchToken("id").pipe(Effect.either)]).pipe(
        Effect.provide(world.auth(keyFile === undefined ? {} : { keyFile }))
      )
      const observed = yield* observe(program, world)
      expect(Exit.isSuccess(observed.exit)).toBe(true)
      expect(world.secrets.count("access-token")).toBeGreaterThan(0)
      expect(leakReport(world.secrets, observed.forms)).toBe("")
    }))

  it.effect.each(["", "http://gemma.example.com", "https://has space.example.com"])(
    "ID token for the refused audience %j: no secret in any printed form",
    (bad) =>
      Effect.gen(function*() {
        const keyFile = yield* Effect.promise(() => keyFileOf(source))
        const program = Effect.gen(function*() {
          const auth = yield* AuthService.AuthService
          yield* auth.accessToken()
          return yield* auth.idToken(bad)
        }).pipe(Effect.provide(world.auth(keyFile === undefined ? {} : { keyFile })))
        const observed = yield* observe(program, world)
        expect(Exit.isFailure(observed.exit)).toBe(true)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      })
  )
})

/** The common paste accident: the PEM's newlines lost or doubly escaped, or the body cut. */
const corruptions: ReadonlyArray<{ readonly name: string; readonly corrupt: (pem: string) => string }> = [
  { name: "escaped newlines", corrupt: (pem) => pem.replace(/\n/g, "\\n") },
  { name: "newlines removed", corrupt: (pem) => pem.replace(/\n/g, "") },
  {
    name: "body truncated",
    corrupt: (pem) => pem.slice(0, Math.floor(pem.length / 2)) + "\n-----END PRIVATE KEY-----\n"
  }
]

describe.each(corruptions)("a service-account key with its private key $name", ({ corrupt }) => {
  const corruptFile = async () => {
    const path = await emulator.credentials.writeServiceAccountKey()
    const json = JSON.parse(Fs.readFileSync(path, "utf8")) as Record<string, string>
    world.secrets.add("private-key", json["private_key"]!)
    const bad = { ...json, private_key: corrupt(json["private_key"]!) }
    Fs.writeFileSync(path, JSON.stringify(bad, null, 2))
    return { path, json: bad }
  }

  it.effect.each(["access", "id"] as const)(
    "through keyFile, %s token: no secret in any printed form",
    (kind) =>
      Effect.gen(function*() {
        const { path } = yield* Effect.promise(corruptFile)
        const observed = yield* observe(Effect.provide(fetchToken(kind), world.auth({ keyFile: path })), world)
        expect(Exit.isFailure(observed.exit)).toBe(true)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      })
  )

  it.effect.each(["access", "id"] as const)(
    "through credentials, %s token: no secret in any printed form",
    (kind) =>
      Effect.gen(function*() {
        const { json } = yield* Effect.promise(corruptFile)
        const layer = world.auth({ credentials: Redacted.make(json) })
        const observed = yield* observe(Effect.provide(fetchToken(kind), layer), world)
        expect(Exit.isFailure(observed.exit)).toBe(true)
        expect(leakReport(world.secrets, observed.forms)).toBe("")
      })
  )
})

describe("no credentials at all", () => {
  // last in the file: google-auth-library remembers that the metadata server was down
  it.effect("metadata server unreachable and no key file: no secret in any printed form", () =>
    Effect.gen(function*() {
      const saved = process.env["GCE_METADATA_HOST"]
      const program = Effect.acquireUseRelease(
        Effect.sync(() => {
          process.env["GCE_METADATA_HOST"] = "127.0.0.1:9"
          process.env["GCE_METADATA_IP"] = "127.0.0.1:9"
        }),
        () => Effect.provide(fetchToken("access"), Layer.fresh(world.auth({ detectTimeout: "2 seconds" }))),
        () =>
          Effect.sync(() => {
            process.env["GCE_METADATA_HOST"] = saved
            process.env["GCE_METADATA_IP"] = saved
          })
      )
      const observed = yield* observe(program, world)
      expect(Exit.isFailure(observed.exit)).toBe(true)
      expect(leakReport(world.secrets, observed.forms)).toBe("")
    }))
})
