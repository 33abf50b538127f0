import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as AuthClient from "../../src/auth/AuthClient.js"
import * as AuthError from "../../src/auth/AuthError.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })

const audience = "https://gemma-abc123-uc.a.run.app"

describe("AuthClient (Promise facade)", () => {
  it("headers, tokens and identity through Promises, one fetch for many warm calls", async () => {
    emulator.controls.reset()
    const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    try {
      const identity = await auth.identity()
      expect(identity.source).toBe("metadata")
      const first = await auth.headers({ kind: "id", audience })
      for (let i = 0; i < 100; i++) {
        expect(await auth.headers({ kind: "id", audience })).toBe(first) // the same record: served from the cache
      }
      expect(emulator.controls.count("metadata.identity")).toBe(1)
      const token = await auth.idToken(audience)
      expect(first["authorization"]).toBe(`Bearer ${Redacted.value(token.value)}`)
      expect(Redacted.value((await auth.accessToken()).value)).toMatch(/^ya29\./)
    } finally {
      await auth.close()
    }
  })

  it("rejects with the tagged error itself", async () => {
    const auth = AuthClient.make({ projectId: emulator.projectId, clientOptions: emulator.clientOptions })
    try {
      const error = await auth.idToken("http://example.com").then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(AuthError.InvalidAudience)
      expect(AuthError.isAuthError(error)).toBe(true)
    } finally {
      await auth.close()
    }
  })

  it("a detection failure rejects every call with CredentialsInvalid", async () => {
    const auth = AuthClient.make({ projectId: "p", keyFile: "/nonexistent/key.json" })
    try {
      const error = await auth.headers({ kind: "access" }).then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(AuthError.CredentialsInvalid)
    } finally {
      await auth.close()
    }
  })
})
