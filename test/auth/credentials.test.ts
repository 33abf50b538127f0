import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as AuthService from "../../src/auth/AuthService.js"
import { useEmulator } from "../support/emulator.js"

// Bad input, right blame: a credential from any option (`keyFile`, `credentials`,
// GOOGLE_APPLICATION_CREDENTIALS) is read and checked when the layer is built, and a
// broken one fails the build with CredentialsInvalid naming the field (never a token
// endpoint's error). And no path prints google-auth-library's deprecation or
// validation warnings.

const emulator = useEmulator({ env: true })

type Via = "keyFile" | "credentials" | "GOOGLE_APPLICATION_CREDENTIALS"
const vias: ReadonlyArray<Via> = ["keyFile", "credentials", "GOOGLE_APPLICATION_CREDENTIALS"]

const readJson = async (path: string) => JSON.parse(await Fs.readFile(path, "utf8")) as Record<string, unknown>

/** Builds the layer with `json` passed through `via`, and runs `use` on the service. */
const withJson = async <A, E>(
  json: Record<string, unknown>,
  via: Via,
  use: (auth: AuthService.AuthService.Service) => Effect.Effect<A, E>
) => {
  const path = `${await emulator.credentials.writeServiceAccountKey()}.${via}.json`
  await Fs.writeFile(path, JSON.stringify(json))
  const options: AuthService.Options = {
    projectId: emulator.projectId,
    clientOptions: emulator.clientOptions,
    ...(via === "keyFile" ? { keyFile: path } : via === "credentials" ? { credentials: Redacted.make(json) } : {})
  }
  if (via === "GOOGLE_APPLICATION_CREDENTIALS") process.env["GOOGLE_APPLICATION_CREDENTIALS"] = path
  try {
    return await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(
          Layer.build(AuthService.layer(options)),
          (context) => use(Context.get(context, AuthService.AuthService))
        )
      )
    )
  } finally {
    process.env["GOOGLE_APPLICATION_CREDENTIALS"] = ""
  }
}

const audience = "https://svc-creds-uc.a.run.app"

let warnings: Array<string> = []
const onWarning = (warning: Error) => warnings.push(warning.message)
beforeEach(() => {
  warnings = []
  vi.spyOn(console, "warn").mockImplementation((...args: Array<unknown>) => {
    warnings.push(args.map(String).join(" "))
  })
  process.on("warning", onWarning)
})
afterEach(() => {
  vi.restoreAllMocks()
  process.off("warning", onWarning)
})

const kinds = [
  { name: "service_account", write: () => emulator.credentials.writeServiceAccountKey() },
  { name: "authorized_user", write: () => emulator.credentials.writeAuthorizedUser() },
  {
    name: "impersonated_service_account",
    write: () => emulator.credentials.writeImpersonated({ source: "service_account" })
  },
  {
    name: "external_account (impersonating)",
    write: () => emulator.credentials.writeExternalAccount({ impersonate: true })
  }
] as const

describe.each(vias)("a good credential through %s", (via) => {
  it.each(kinds)("$name: both token kinds, and no warning printed", async ({ write }) => {
    const json = await readJson(await write())
    const exit = await withJson(
      json,
      via,
      (auth) => Effect.all([auth.accessToken(), auth.idToken(audience)]).pipe(Effect.as(auth.identity.origin))
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(exit.value).toContain(via === "credentials" ? "`credentials` option" : via)
    expect(warnings).toEqual([])
  })
})

/** Broken credentials: what to do to a good one, and the field the error must name. */
const broken = [
  {
    name: "a private_key pasted with its line breaks as literal \\n",
    base: "service_account",
    mangle: (j: Record<string, unknown>) => ({ ...j, private_key: String(j["private_key"]).replace(/\n/g, "\\n") }),
    field: "private_key"
  },
  {
    name: "a private_key cut short",
    base: "service_account",
    mangle: (j: Record<string, unknown>) => ({ ...j, private_key: String(j["private_key"]).slice(0, 200) }),
    field: "private_key"
  },
  {
    name: "no client_email",
    base: "service_account",
    mangle: ({ client_email: _, ...j }: Record<string, unknown>) => j,
    field: "client_email"
  },
  {
    name: "no refresh_token",
    base: "authorized_user",
    mangle: ({ refresh_token: _, ...j }: Record<string, unknown>) => j,
    field: "refresh_token"
  },
  {
    name: "an unsupported type",
    base: "service_account",
    mangle: (j: Record<string, unknown>) => ({ ...j, type: "api_key" }),
    field: "type"
  },
  {
    name: "an impersonation source with a broken private_key",
    base: "impersonated_service_account",
    mangle: (j: Record<string, unknown>) => ({
      ...j,
      source_credentials: {
        ...(j["source_credentials"] as Record<string, unknown>),
        private_key: "-----BEGIN PRIVATE KEY-----\\nAAAA"
      }
    }),
    field: "source_credentials.private_key"
  }
] as const

const baseFile = (base: (typeof broken)[number]["base"]) =>
  base === "service_account"
    ? emulator.credentials.writeServiceAccountKey()
    : base === "authorized_user"
    ? emulator.credentials.writeAuthorizedUser()
    : emulator.credentials.writeImpersonated({ source: "service_account" })

describe.each(vias)("a broken credential through %s", (via) => {
  it.each(broken)(
    "$name: CredentialsInvalid at build, naming $field, no token request",
    async ({ base, field, mangle }) => {
      emulator.controls.reset()
      const json = mangle(await readJson(await baseFile(base)))
      const exit = await withJson(json, via, () => Effect.void)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("CredentialsInvalid")
      if (error?._tag === "CredentialsInvalid") {
        expect(error.field).toBe(field)
        expect(error.message).toContain(field)
        expect(error.message).not.toMatch(/token endpoint|unusable token response/)
        if (field.endsWith("private_key")) expect(error.message).toContain("not a valid PEM private key")
        expect(error.message).not.toContain("PRIVATE KEY-----")
      }
      expect(emulator.controls.counts()).toEqual({})
      expect(warnings).toEqual([])
    }
  )
})

describe.each(["keyFile", "GOOGLE_APPLICATION_CREDENTIALS"] as const)("a file that is not JSON through %s", (via) => {
  it("CredentialsInvalid at build", async () => {
    const path = `${await emulator.credentials.writeServiceAccountKey()}.garbage`
    await Fs.writeFile(path, "{ not json")
    if (via === "GOOGLE_APPLICATION_CREDENTIALS") process.env["GOOGLE_APPLICATION_CREDENTIALS"] = path
    try {
      const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(AuthService.layer({
        projectId: emulator.projectId,
        ...(via === "keyFile" ? { keyFile: path } : {})
      }))))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("CredentialsInvalid")
      expect(error?.message).toContain("not JSON")
    } finally {
      process.env["GOOGLE_APPLICATION_CREDENTIALS"] = ""
    }
  })
})
