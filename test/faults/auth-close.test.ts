import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as AuthService from "../../src/auth/AuthService.js"
import { CallAborted, ClientClosed } from "../../src/ClientError.js"
import { useEmulator } from "../support/emulator.js"
import { clocks, waitUntil } from "./auth-support.js"

// Closing: an AuthService used after its scope closed fails at once with
// AuthServiceClosed (never pends), a call in flight when it closes settles the same way
// and its request is aborted (socket closed on the server side); the Promise facade's
// AbortSignal and close() do the same for a call waiting on a hanging metadata server.

const emulator = useEmulator({ env: true })

const options = () => ({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
const tagOf = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isSuccess(exit) ? "success" : exit.cause._tag === "Fail" ? exit.cause.error._tag : exit.cause._tag

const audience = "https://svc-close-uc.a.run.app"

/** An AuthService built into `scope`, so that the test decides when it closes. */
const authIn = (scope: Scope.Scope) =>
  Layer.build(AuthService.layer(options())).pipe(
    Effect.map(Context.get(AuthService.AuthService)),
    Scope.extend(scope)
  )

type Call = (auth: AuthService.AuthService.Service) => Effect.Effect<unknown, { readonly _tag: string }>
const calls: ReadonlyArray<{ readonly name: string; readonly call: Call }> = [
  { name: "idToken for a new audience", call: (auth) => auth.idToken(`${audience}/new`) },
  { name: "idToken for a cached audience", call: (auth) => auth.idToken(audience) },
  { name: "accessToken", call: (auth) => auth.accessToken() },
  {
    name: "accessToken with new scopes",
    call: (auth) => auth.accessToken({ scopes: ["https://www.googleapis.com/auth/new"] })
  },
  { name: "headers (id)", call: (auth) => auth.headers({ kind: "id", audience }) },
  { name: "headers (access)", call: (auth) => auth.headers({ kind: "access" }) }
]

describe("AuthService after its scope closed", () => {
  it.effect.each(calls)("$name fails at once with AuthServiceClosed", ({ call }) =>
    Effect.gen(function*() {
      yield* clocks(emulator, 0).start
      const scope = yield* Scope.make()
      const auth = yield* authIn(scope)
      yield* auth.idToken(audience)
      yield* auth.accessToken()
      yield* Scope.close(scope, Exit.void)
      const requests = emulator.controls.counts()
      // No clock movement and no I/O: it settles on the spot.
      const fiber = yield* Effect.fork(call(auth))
      yield* Effect.yieldNow()
      const exit = fiber.unsafePoll()
      expect(exit === null ? "pending" : tagOf(exit)).toBe("AuthServiceClosed")
      expect(emulator.controls.counts()).toEqual(requests)
    }))

  it.effect("a call in flight when the scope closes settles with AuthServiceClosed and its socket closes", () =>
    Effect.gen(function*() {
      yield* clocks(emulator, 0).start
      const scope = yield* Scope.make()
      const auth = yield* authIn(scope)
      emulator.controls.fail("metadata.identity", { kind: "hang" })
      const waiting = yield* Effect.fork(Effect.exit(auth.idToken(`${audience}/hanging`)))
      yield* waitUntil("the request to hang", () => emulator.controls.hangingSockets("metadata.identity") === 1)
      yield* Scope.close(scope, Exit.void)
      expect(tagOf(yield* Fiber.join(waiting))).toBe("AuthServiceClosed")
      yield* waitUntil("the socket to close", () => emulator.controls.hangingSockets() === 0)
    }))
})

/** Event-loop turns until `condition` holds (no timers). */
const until = async (what: string, condition: () => boolean) => {
  for (let i = 0; i < 5000; i++) {
    if (condition()) return
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  throw new Error(`still waiting for ${what}`)
}

describe("AuthClient (Promise facade) cancels", () => {
  const methods: ReadonlyArray<
    readonly [string, (client: AuthClient.AuthClient, signal?: AbortSignal) => Promise<unknown>]
  > = [
    ["idToken", (client, signal) => client.idToken(`${audience}/promise`, { signal })],
    ["headers", (client, signal) => client.headers({ kind: "id", audience: `${audience}/promise` }, { signal })],
    ["accessToken", (client, signal) => client.accessToken({ scopes: ["https://www.googleapis.com/auth/p"], signal })]
  ]

  it.each(methods)("%s: an AbortSignal rejects with CallAborted and closes the socket", async (_name, method) => {
    const client = AuthClient.make(options())
    try {
      await client.identity()
      emulator.controls.fail("metadata.identity", { kind: "hang" })
      emulator.controls.fail("metadata.token", { kind: "hang" })
      const controller = new AbortController()
      const call = method(client, controller.signal).then(() => undefined, (e: unknown) => e)
      await until("the request to hang", () => emulator.controls.hangingSockets() === 1)
      controller.abort()
      expect(await call).toBeInstanceOf(CallAborted)
      await until("the socket to close", () => emulator.controls.hangingSockets() === 0)
    } finally {
      await client.close()
    }
  })

  it.each(methods)(
    "%s: close() rejects a waiting call with ClientClosed, closes the socket, refuses later calls",
    async (_name, method) => {
      const client = AuthClient.make(options())
      await client.identity()
      emulator.controls.fail("metadata.identity", { kind: "hang" })
      emulator.controls.fail("metadata.token", { kind: "hang" })
      const call = method(client).then(() => undefined, (e: unknown) => e)
      await until("the request to hang", () => emulator.controls.hangingSockets() === 1)
      await client.close()
      expect(await call).toBeInstanceOf(ClientClosed)
      await until("the socket to close", () => emulator.controls.hangingSockets() === 0)
      expect(await method(client).then(() => undefined, (e: unknown) => e)).toBeInstanceOf(ClientClosed)
    }
  )
})
