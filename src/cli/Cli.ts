/**
 * The command tree of `effect-adc`: `token access`, `token id`, `identity`, `doctor`, `emulator`, `demo`.
 *
 * Exit codes: 0 success; 1 usage error; 2 no usable credentials (ADC found nothing or
 * the credential is invalid); 3 a token could not be minted.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { AuthError } from "../auth/AuthError.js"
import * as AuthService from "../auth/AuthService.js"
import type { AuthToken } from "../auth/AuthToken.js"
import { demo } from "./Demo.js"
import { diagnose, print } from "./Doctor.js"
import { emulate } from "./Emulate.js"

/**
 * The process exit code for an auth error.
 *
 * @since 0.1.0
 * @category Constants
 */
export const exitCodeOf = (error: AuthError): number =>
  error._tag === "CredentialsNotFound" || error._tag === "CredentialsInvalid" || error._tag === "AuthConfigInvalid"
    ? 2
    : 3

const json = Options.boolean("json").pipe(Options.withDescription("print JSON with the expiry and principal"))

/** Prints a token to stdout (and nothing else), or its JSON form. */
const printToken = (token: AuthToken, asJson: boolean) =>
  Effect.gen(function*() {
    const auth = yield* AuthService.AuthService
    yield* Console.log(
      asJson
        ? JSON.stringify({
          token: Redacted.value(token.value),
          kind: token.kind,
          expiresAt: new Date(token.expiresAt).toISOString(),
          principal: auth.identity.principal ?? null,
          source: auth.identity.source
        })
        : Redacted.value(token.value)
    )
  })

/** Prints an error as one line on stderr and sets the exit code. */
const report = (error: AuthError) =>
  Console.error(`effect-adc: ${error.message}`).pipe(
    Effect.zipRight(Effect.sync(() => {
      process.exitCode = exitCodeOf(error)
    }))
  )

/** Runs a command body with AuthService from the environment. */
const withAuth = <E extends AuthError>(body: Effect.Effect<void, E, AuthService.AuthService>) =>
  body.pipe(Effect.provide(AuthService.layerConfig()), Effect.catchAll(report))

const accessCommand = Command.make(
  "access",
  {
    scopes: Options.text("scopes").pipe(
      Options.withDescription("comma-separated OAuth scopes (default cloud-platform)"),
      Options.optional
    ),
    json
  },
  ({ json, scopes }) =>
    withAuth(Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      const list = Option.map(scopes, (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""))
      const token = yield* auth.accessToken({ scopes: Option.getOrUndefined(list) })
      yield* printToken(token, json)
    }))
).pipe(Command.withDescription("print an OAuth access token, like `gcloud auth print-access-token`"))

const idCommand = Command.make(
  "id",
  {
    audience: Options.text("audience").pipe(Options.withDescription("the Cloud Run URL or custom audience")),
    json
  },
  ({ audience, json }) =>
    withAuth(Effect.gen(function*() {
      const auth = yield* AuthService.AuthService
      const token = yield* auth.idToken(audience)
      yield* printToken(token, json)
    }))
).pipe(Command.withDescription("print a Google-signed ID token, like `gcloud auth print-identity-token`"))

const tokenCommand = Command.make("token").pipe(
  Command.withDescription("print a token from Application Default Credentials"),
  Command.withSubcommands([accessCommand, idCommand])
)

const identityCommand = Command.make("identity", {}, () =>
  withAuth(Effect.gen(function*() {
    const auth = yield* AuthService.AuthService
    yield* Console.log(JSON.stringify(auth.identity, null, 2))
  }))).pipe(Command.withDescription("show which ADC source was found, its principal and project (no secrets)"))

const doctorCommand = Command.make(
  "doctor",
  {
    audience: Options.text("audience").pipe(
      Options.withDescription("the audience to try an ID token for (your Cloud Run URL)"),
      Options.withDefault("https://doctor-check.a.run.app")
    )
  },
  ({ audience }) =>
    Effect.gen(function*() {
      const report = yield* diagnose(AuthService.layerConfig(), { audience })
      yield* print(report)
      process.exitCode = report.exitCode
    })
).pipe(Command.withDescription("check the ADC setup: source, principal, project, both token kinds, clock skew"))

const emulatorCommand = Command.make(
  "emulator",
  {
    lifetime: Options.integer("token-lifetime").pipe(
      Options.withDescription("lifetime of every token, in seconds"),
      Options.optional
    )
  },
  ({ lifetime }) => emulate(Option.isSome(lifetime) ? { tokenLifetimeSeconds: lifetime.value } : {})
).pipe(Command.withDescription("run the local Google Cloud emulator and print the environment that points clients at it"))

const demoCommand = Command.make("demo", {}, () =>
  demo().pipe(Effect.catchAll(report))).pipe(Command.withDescription("run the whole product against the embedded emulator (no Google account)"))

const root = Command.make("effect-adc").pipe(
  Command.withDescription("Keyless Google Cloud tokens for Gemini and Cloud Run"),
  Command.withSubcommands([tokenCommand, identityCommand, doctorCommand, emulatorCommand, demoCommand])
)

/**
 * Runs the command line with `process.argv`-style arguments.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const run = Command.run(root, { name: "effect-adc", version: "0.1.0" })
