/**
 * The harness sees what it claims to see: a real token (minted by the emulator, read
 * through AuthService) put on purpose into each printed form is found there, whole or in
 * the part a partial print shows. Without this, a suite that finds nothing could be blind.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AuthService from "../../src/auth/AuthService.js"
import { describeLeaks, observe, useSharedAuth, useWorld } from "./support.js"

const world = useWorld()
const sharedAuth = useSharedAuth(world)

const tokenOf = (kind: "access" | "id") =>
  Effect.flatMap(
    AuthService.AuthService,
    (auth) => kind === "access" ? auth.accessToken() : auth.idToken("https://svc-abc-uc.a.run.app")
  ).pipe(
    Effect.map((token) => Redacted.value(token.value)),
    Effect.provide(sharedAuth())
  )

/** Ways a program could print a value, and where the harness must report it. */
const placements: ReadonlyArray<{
  readonly name: string
  readonly where: RegExp
  readonly print: (value: string) => Effect.Effect<unknown, unknown>
}> = [
  {
    name: "a Debug log annotation",
    where: /^log DEBUG$/,
    print: (v) => Effect.logDebug("hello").pipe(Effect.annotateLogs("h", v))
  },
  {
    name: "a span attribute",
    where: /^span s attribute leak$/,
    print: (v) => Effect.annotateCurrentSpan("leak", v).pipe(Effect.withSpan("s"))
  },
  {
    name: "an error's cause (JSON only)",
    where: /^error JSON\.stringify\(e\)$/,
    print: (v) => Effect.fail({ message: "no", cause: { header: v } })
  },
  { name: "console.log", where: /^console\.log$/, print: (v) => Effect.sync(() => console.log(`token=${v}`)) },
  {
    name: "the success value",
    where: /^value util\.inspect$/,
    print: (v) => Effect.succeed({ nested: { deeper: [v] } })
  }
]

describe.each(["access", "id"] as const)("a real %s token", (kind) => {
  it.effect.each(placements)("in $name is reported there", (placement) =>
    Effect.gen(function*() {
      const token = yield* tokenOf(kind)
      const observed = yield* observe(placement.print(token), world)
      const lines = world.secrets.find(observed.forms)
      expect(lines.some((l) => placement.where.test(l.where) && l.kind === `${kind}-token`)).toBe(true)
    }))

  it.effect("only partly printed (the JWT signature, a slice of the access token) is still reported", () =>
    Effect.gen(function*() {
      const token = yield* tokenOf(kind)
      const part = kind === "id" ? token.split(".")[2]! : token.slice(10, 34)
      const observed = yield* observe(Effect.logWarning(`…${part}…`), world)
      expect(describeLeaks(world.secrets.find(observed.forms)).join("\n")).toMatch(/^log WARN: /)
    }))
})

it.effect("a private key from a credential file, its first line pasted into a log, is reported", () =>
  Effect.gen(function*() {
    const path = yield* Effect.promise(() => world.emulator.credentials.writeServiceAccountKey())
    world.secrets.addFile(path)
    const pem = world.secrets.all.find((s) => s.kind === "private-key")!.value
    const firstLine = pem.split("\n")[1]!
    const observed = yield* observe(Effect.logError(`bad key starting ${firstLine}`), world)
    expect(describeLeaks(world.secrets.find(observed.forms)).join("\n")).toMatch(/private-key/)
  }))
