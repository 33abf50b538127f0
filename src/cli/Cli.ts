/**
 * The command tree of `effect-adc`: `token access`, `token id`, `identity`, `doctor`,
 * `chat`, `proxy`, `emulator`, `demo`.
 *
 * Exit codes: 0 success; 1 usage error (an unknown command or option, an invalid proxy,
 * model, demo or auth configuration, an invalid `--audience` or `--scopes`); 2 no usable
 * credentials (ADC found nothing or the credential is invalid); 3 a token could not be
 * minted; 4 the proxy could not listen; 5 a model call failed (`chat`, `demo`).
 *
 * Every command checks its configuration (flags, route tables, auth variables) before
 * it looks for credentials, so a configuration mistake is blamed on the configuration
 * even where there are no credentials at all.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import type { AuthConfigInvalid as AuthConfigInvalidError, AuthError } from "../auth/AuthError.js"
import type * as AuthServiceModule from "../auth/AuthService.js"
import type { AuthToken } from "../auth/AuthToken.js"
import type * as ModelConfig from "../model/ModelConfig.js"
import type * as ModelError from "../model/ModelError.js"
import type * as ProxyConfigModule from "../proxy/ProxyConfig.js"
import { oneLine } from "./internal/oneLine.js"
import { version } from "./internal/version.js"

/**
 * Each subcommand's implementation is imported when that subcommand runs, so
 * `--help` and a usage error load only the command tree (docs/cli.md).
 */
const load = {
  auth: () => import("../auth/AuthService.js"),
  authError: () => import("../auth/AuthError.js"),
  tokenTarget: () => import("../auth/TokenTarget.js"),
  chat: () => import("./Chat.js"),
  demo: () => import("./Demo.js"),
  doctor: () => import("./Doctor.js"),
  emulate: () => import("./Emulate.js"),
  modelError: () => import("../model/ModelError.js"),
  proxyConfig: () => import("../proxy/ProxyConfig.js"),
  signingProxy: () => import("../proxy/SigningProxy.js")
}

/** Runs `body` with the module `module` loads. */
const lazily = <M, A, E, R>(module: () => Promise<M>, body: (m: M) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.promise(module), body)

/**
 * The process exit code for an auth error.
 *
 * @since 0.1.0
 * @category Constants
 */
export const exitCodeOf = (error: AuthError): number =>
  error._tag === "InvalidAudience" || error._tag === "AuthConfigInvalid"
    ? 1
    : error._tag === "CredentialsNotFound" || error._tag === "CredentialsInvalid"
    ? 2
    : 3

const json = Options.boolean("json").pipe(Options.withDescription("print JSON with the expiry and principal"))

/** Prints a token to stdout (and nothing else), or its JSON form. */
const printToken = (AuthService: typeof AuthServiceModule, token: AuthToken, asJson: boolean) =>
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

/**
 * Runs a command body with AuthService from the environment, after `check` (the
 * command's own configuration): a configuration mistake fails before ADC is asked.
 */
const withAuth = <A, E extends AuthError, C extends AuthError>(
  check: Effect.Effect<A, C>,
  body: (AuthService: typeof AuthServiceModule, checked: A) => Effect.Effect<void, E, AuthServiceModule.AuthService>
) =>
  lazily(
    load.auth,
    (AuthService) =>
      Effect.flatMap(check, (checked) => body(AuthService, checked).pipe(Effect.provide(AuthService.layerConfig())))
  ).pipe(
    Effect.catchAll(report)
  )

/** A scope is a bare word (`openid`, `email`) or an https URL. */
const scopeProblem = (scope: string): string | undefined => {
  if (/^[a-z][\w.-]*$/i.test(scope)) return undefined
  try {
    return new URL(scope).protocol === "https:" ? undefined : "it is not an https URL"
  } catch {
    return "it is neither a URL nor a bare scope name"
  }
}

/** The `--scopes` flag, checked (before any credential lookup). */
const checkScopes = (scopes: Option.Option<string>) =>
  lazily(load.authError, ({ AuthConfigInvalid }) =>
    Option.match(scopes, {
      onNone: () => Effect.succeed(undefined),
      onSome: (text): Effect.Effect<ReadonlyArray<string>, AuthConfigInvalidError> => {
        const list = text.split(",").map((x) => x.trim()).filter((x) => x !== "")
        if (list.length === 0) return Effect.fail(new AuthConfigInvalid({ detail: "--scopes names no scope" }))
        for (const scope of list) {
          const problem = scopeProblem(scope)
          if (problem !== undefined) {
            return Effect.fail(new AuthConfigInvalid({ detail: `--scopes: ${JSON.stringify(scope)}: ${problem}` }))
          }
        }
        return Effect.succeed(list)
      }
    }))

/** The `--audience` flag, checked (before any credential lookup). */
const checkAudience = (audience: string) =>
  lazily(load.tokenTarget, (TokenTarget) => TokenTarget.validateAudience(audience))

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
    withAuth(checkScopes(scopes), (AuthService, list) =>
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const token = yield* auth.accessToken({ scopes: list })
        yield* printToken(AuthService, token, json)
      }))
).pipe(Command.withDescription("print an OAuth access token, like `gcloud auth print-access-token`"))

const idCommand = Command.make(
  "id",
  {
    audience: Options.text("audience").pipe(Options.withDescription("the Cloud Run URL or custom audience")),
    json
  },
  ({ audience, json }) =>
    withAuth(checkAudience(audience), (AuthService, checked) =>
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        const token = yield* auth.idToken(checked)
        yield* printToken(AuthService, token, json)
      }))
).pipe(Command.withDescription("print a Google-signed ID token, like `gcloud auth print-identity-token`"))

const tokenCommand = Command.make("token").pipe(
  Command.withDescription("print a token from Application Default Credentials"),
  Command.withSubcommands([accessCommand, idCommand])
)

const identityCommand = Command.make(
  "identity",
  {},
  () =>
    withAuth(Effect.void, (AuthService) =>
      Effect.gen(function*() {
        const auth = yield* AuthService.AuthService
        yield* Console.log(JSON.stringify(auth.identity, null, 2))
      }))
).pipe(Command.withDescription("show which ADC source was found, its principal and project (no secrets)"))

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
      const AuthService = yield* Effect.promise(load.auth)
      const { diagnose, print } = yield* Effect.promise(load.doctor)
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
    ),
    // not `--env-file`: Node reads that spelling from every argument, even after the script's name
    envFile: Options.text("write-env").pipe(
      Options.withDescription("also write the export lines to this file once the servers are up (removed on stop)"),
      Options.optional
    )
  },
  ({ envFile, lifetime }) =>
    lazily(load.emulate, ({ emulate }) =>
      emulate({
        ...(Option.isSome(lifetime) ? { tokenLifetimeSeconds: lifetime.value } : {}),
        envFile: Option.getOrUndefined(envFile)
      }))
).pipe(
  Command.withDescription("run the local Google Cloud emulator and print the environment that points clients at it")
)

const proxyCommand = Command.make(
  "proxy",
  {
    routes: Options.text("route").pipe(
      Options.withDescription("/prefix=https://upstream[,id|access][,audience=A][,header=X-Serverless-Authorization]"),
      Options.repeated
    ),
    config: Options.text("config").pipe(
      Options.withDescription("a JSON route table (docs/proxy.md)"),
      Options.optional
    ),
    host: Options.text("host").pipe(Options.optional),
    port: Options.integer("port").pipe(Options.optional),
    allowNonLoopback: Options.boolean("allow-non-loopback").pipe(
      Options.withDescription("allow binding beyond 127.0.0.1 (the proxy then serves the network)")
    )
  },
  (flags) =>
    lazily(
      () => Promise.all([load.auth(), load.proxyConfig(), load.signingProxy()]),
      ([AuthService, ProxyConfig, SigningProxy]) =>
        Effect.gen(function*() {
          // The route table first: a mistake in it is reported even without credentials.
          const config = yield* proxyConfigFrom(ProxyConfig, flags)
          return yield* Effect.gen(function*() {
            const proxy = yield* SigningProxy.start(config)
            yield* Console.error(
              `effect-adc proxy: listening on ${proxy.url} (${config.routes.length} routes); Ctrl-C stops it`
            )
            return yield* Effect.never
          }).pipe(Effect.scoped, Effect.provide(AuthService.layerConfig()))
        }).pipe(
          Effect.catchAll((error) =>
            Console.error(`effect-adc: ${error.message}`).pipe(
              Effect.zipRight(Effect.sync(() => {
                process.exitCode = error._tag === "ProxyConfigInvalid" ? 1 : error._tag === "ProxyListenFailed" ?
                  4 :
                  exitCodeOf(error)
              }))
            )
          )
        )
    )
).pipe(Command.withDescription("a local proxy that adds Google tokens to requests for configured upstreams"))

/** The proxy configuration from a file and/or flags (flags add routes and override listen options). */
const proxyConfigFrom = (ProxyConfig: typeof ProxyConfigModule, flags: {
  readonly routes: ReadonlyArray<string>
  readonly config: Option.Option<string>
  readonly host: Option.Option<string>
  readonly port: Option.Option<number>
  readonly allowNonLoopback: boolean
}) =>
  Effect.gen(function*() {
    const path = Option.getOrUndefined(flags.config)
    const file: Record<string, unknown> = path === undefined ? {} : yield* Effect.try({
      try: () => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>,
      catch: (e) => new ProxyConfig.ProxyConfigInvalid({ detail: `cannot read ${path}: ${String(e)}` })
    })
    const routes = yield* Effect.forEach(flags.routes, ProxyConfig.parseRouteFlag)
    return yield* ProxyConfig.decode({
      ...file,
      ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
      ...(Option.isSome(flags.port) ? { port: flags.port.value } : {}),
      ...(flags.allowNonLoopback ? { allowNonLoopback: true } : {}),
      routes: [...(Array.isArray(file["routes"]) ? file["routes"] : []), ...routes]
    })
  })

/** Any failure of `chat` or `demo` as one line on stderr, with its exit code. */
const reportAny = (error: AuthError | ModelError.ModelError | { readonly _tag: string; readonly message: string }) =>
  lazily(() => Promise.all([load.modelError(), load.chat()]), ([ModelError, { modelErrorExitCode }]) =>
    Console.error(
      `effect-adc: ${ModelError.isModelError(error) ? `${error._tag}: ` : ""}${oneLine(error.message)}`
    ).pipe(
      Effect.zipRight(Effect.sync(() => {
        process.exitCode = ModelError.isModelError(error)
          ? modelErrorExitCode
          : error._tag === "ChatConfigInvalid" || error._tag === "DemoConfigInvalid"
          ? 1
          : exitCodeOf(error as AuthError)
      }))
    ))

/** `--url`: an absolute http(s) URL, else a usage error that names the flag. */
const urlFlag = (name: string) =>
  Options.text(name).pipe(
    Options.mapEffect((value) => {
      const url = URL.canParse(value) ? new URL(value) : undefined
      return url !== undefined && (url.protocol === "https:" || url.protocol === "http:")
        ? Effect.succeed(value)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--${name} must be an absolute http(s) URL such as https://gemma-abc-uc.a.run.app, got ${
            JSON.stringify(value)
          }`
        )))
    })
  )

const chatCommand = Command.make(
  "chat",
  {
    model: Options.text("model").pipe(Options.withDescription("the model, e.g. gemini-2.5-flash or gemma3:4b")),
    backend: Options.choice(
      "backend",
      ["gemini-vertex", "gemini-api", "ollama", "openai-compatible", "vertex-openai"] as const
    ).pipe(
      Options.withDescription("default EFFECT_ADC_MODEL_BACKEND, else gemini-vertex"),
      Options.optional
    ),
    url: urlFlag("url").pipe(
      Options.withDescription(
        "Cloud Run service URL (ollama, openai-compatible) or Gemini base URL; default EFFECT_ADC_MODEL_URL"
      ),
      Options.optional
    ),
    system: Options.text("system").pipe(Options.withDescription("a system instruction"), Options.optional)
  },
  (flags) =>
    lazily(
      load.chat,
      ({ chat }) =>
        chat({ ...flags, backend: flags.backend as Option.Option<ModelConfig.BackendName> }).pipe(
          Effect.catchAll(reportAny)
        )
    )
).pipe(
  Command.withDescription("a streaming conversation through ModelService (lines from stdin; /exit or EOF ends it)")
)

const demoCommand = Command.make(
  "demo",
  {
    real: Options.boolean("real").pipe(
      Options.withDescription(
        "run against Google Cloud with your ADC and the EFFECT_ADC_DEMO_* variables (docs/cli.md)"
      )
    )
  },
  ({ real }) => lazily(load.demo, ({ demo }) => demo({ real }).pipe(Effect.catchAll(reportAny)))
).pipe(Command.withDescription("the product end to end on the embedded emulator (no Google account), or --real"))

const root = Command.make("effect-adc").pipe(
  Command.withDescription("Keyless Google Cloud tokens for Gemini and Cloud Run"),
  Command.withSubcommands([
    tokenCommand,
    identityCommand,
    doctorCommand,
    chatCommand,
    proxyCommand,
    emulatorCommand,
    demoCommand
  ])
)

/**
 * Runs the command line with `process.argv`-style arguments.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const run = Command.run(root, { name: "effect-adc", version })
