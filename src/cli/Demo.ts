/**
 * `effect-adc demo`: the product end to end. By default on the embedded emulator, with
 * no Google account and nothing beyond loopback: it boots as if on Cloud Run (a
 * metadata server, no gcloud, no API key), shows the ADC source and principal, calls
 * Gemini keylessly through ModelService (GeminiVertex, access token), streams from
 * Gemma on a private Cloud Run service through the Ollama backend (ID token), calls a
 * tool on an MCP server on private Cloud Run with the MCP SDK's client and our signing
 * fetch, and shows a token refreshing in the background with short lifetimes. The
 * emulator's counters prove what happened.
 *
 * With `--real` the same program runs against Google Cloud with your ADC:
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `GOOGLE_CLOUD_PROJECT` | Vertex AI project | required |
 * | `GOOGLE_CLOUD_LOCATION` | Vertex AI location | `global` |
 * | `EFFECT_ADC_DEMO_GEMINI_MODEL` | Gemini model | `gemini-2.5-flash` |
 * | `EFFECT_ADC_DEMO_GEMMA_URL` | Cloud Run URL of an Ollama service | step skipped |
 * | `EFFECT_ADC_DEMO_GEMMA_MODEL` | the Ollama model | `gemma3:4b` |
 * | `EFFECT_ADC_DEMO_MCP_URL` | MCP endpoint on Cloud Run (`https://…run.app/mcp`) | step skipped |
 * | `EFFECT_ADC_DEMO_MCP_TOOL` | tool to call (else only list tools) | none |
 * | `EFFECT_ADC_DEMO_MCP_ARGS` | its arguments, JSON | `{}` |
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type * as Http from "node:http"
import type { AuthError, DetectError } from "../auth/AuthError.js"
import * as AuthService from "../auth/AuthService.js"
import * as TokenCache from "../auth/TokenCache.js"
import type * as SigningFetch from "../http/SigningFetch.js"
import * as Mcp from "../integrations/mcp.js"
import * as GeminiVertex from "../model/gemini/GeminiVertex.js"
import type * as ModelConfigError from "../model/ModelConfigError.js"
import type * as ModelError from "../model/ModelError.js"
import * as ModelRequest from "../model/ModelRequest.js"
import { ModelService } from "../model/ModelService.js"
import * as Ollama from "../model/ollama/Ollama.js"
import * as Emulator from "../testing/Emulator.js"
import * as ModelEmulators from "../testing/ModelEmulators.js"
import type * as GeminiEmulator from "../testing/models/GeminiEmulator.js"

const step = (n: number, text: string) => Console.log(`\n[${n}/7] ${text}`)
const info = (text: string) => Console.log(`      ${text}`)
const ok = (text: string) => Console.log(`    ✓ ${text}`)
const skip = (text: string) => Console.log(`    – ${text}`)

/** A short hash of a token: enough to see it change, nothing of the secret. */
const fingerprint = (value: Redacted.Redacted<string>) =>
  `sha256:${createHash("sha256").update(Redacted.value(value)).digest("hex").slice(0, 10)}`

/**
 * Options of {@link demo}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface DemoOptions {
  /** Token lifetime for the background-refresh step on the emulator; default 4 s. */
  readonly lifetimeSeconds?: number
  /** Run against Google Cloud with your ADC and the `EFFECT_ADC_DEMO_*` variables. */
  readonly real?: boolean
}

/** What the steps talk to. */
interface Setup {
  readonly auth: Layer.Layer<AuthService.AuthService, DetectError | AuthError>
  readonly gemini: {
    readonly project: string
    readonly location: string
    readonly model: string
    readonly baseUrl?: string
  }
  readonly gemma: Option.Option<{ readonly url: string; readonly model: string }>
  readonly mcp: Option.Option<
    { readonly url: string; readonly tool: Option.Option<string>; readonly args: Record<string, unknown> }
  >
  readonly emulated: Option.Option<{
    readonly emulator: Emulator.EmulatorHandle
    readonly gemini: GeminiEmulator.GeminiEmulator
  }>
}

/** Is this the error of importing a package that is not installed? */
const isMissingModule = (error: unknown) =>
  typeof error === "object" && error !== null && (error as { readonly code?: unknown }).code === "ERR_MODULE_NOT_FOUND"

/** Imports an optional peer: `None` when it is not installed; any other failure is a defect. */
const importOptional = <A>(load: () => Promise<A>) =>
  Effect.tryPromise({ try: load, catch: (error) => error }).pipe(
    Effect.map(Option.some),
    Effect.catchAll((error) => isMissingModule(error) ? Effect.succeed(Option.none<A>()) : Effect.die(error))
  )

/** The MCP SDK's client, if installed (an optional peer). */
const loadMcpClient = () =>
  importOptional(async () => {
    const [client, transport] = await Promise.all([
      import("@modelcontextprotocol/sdk/client/index.js"),
      import("@modelcontextprotocol/sdk/client/streamableHttp.js")
    ])
    return { Client: client.Client, Transport: transport.StreamableHTTPClientTransport }
  })

/** The emulator: identity, a Gemini server that checks access tokens, Gemma and MCP on Cloud Run. */
const emulatedSetup = (lifetime: number): Effect.Effect<Setup, never, Scope.Scope> =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.make({ tokenLifetimeSeconds: 3600 })
    // As on Cloud Run: the metadata server is the only credential.
    Object.assign(process.env, emulator.env)
    delete process.env["GOOGLE_APPLICATION_CREDENTIALS"]
    const models = yield* ModelEmulators.make({ names: { ollama: "gemma" } }).pipe(
      Effect.provideService(Emulator.Emulator, emulator)
    )
    const gemini = models.gemini.emulator
    const mcpServer = yield* Effect.promise(async () => {
      try {
        return Option.some((await import("./internal/mcpDemoServer.js")).mcpDemoServer())
      } catch {
        return Option.none<Http.RequestListener>()
      }
    })
    const mcp = yield* Option.match(mcpServer, {
      onNone: () => Effect.succeed(Option.none<Emulator.CloudRunService>()),
      onSome: (handler) =>
        Effect.acquireRelease(
          Effect.promise(() => emulator.cloudRun.deploy({ name: "mcp-tools", handler })),
          (s) => Effect.promise(() => s.close())
        ).pipe(Effect.map(Option.some))
    })
    return {
      auth: AuthService.layer({
        projectId: emulator.projectId,
        clientOptions: emulator.clientOptions,
        // short-lived tokens in step 6: refresh when half the lifetime is left
        cache: { margin: "1 second", refreshAhead: `${Math.max(1, Math.floor(lifetime / 2))} seconds` }
      }),
      gemini: {
        project: emulator.projectId,
        location: "global",
        model: "gemini-2.5-flash",
        baseUrl: models.gemini.url
      },
      gemma: Option.some({ url: models.ollama.url, model: "gemma3:4b" }),
      mcp: Option.map(mcp, (s) => ({ url: `${s.url}/mcp`, tool: Option.some("add"), args: { a: 2, b: 3 } })),
      emulated: Option.some({ emulator, gemini })
    }
  })

/** Google Cloud, from the environment. */
const realSetup = Config.all({
  project: Config.nonEmptyString("GOOGLE_CLOUD_PROJECT"),
  location: Config.string("GOOGLE_CLOUD_LOCATION").pipe(Config.withDefault("global")),
  geminiModel: Config.string("EFFECT_ADC_DEMO_GEMINI_MODEL").pipe(Config.withDefault("gemini-2.5-flash")),
  gemmaUrl: Config.option(Config.nonEmptyString("EFFECT_ADC_DEMO_GEMMA_URL")),
  gemmaModel: Config.string("EFFECT_ADC_DEMO_GEMMA_MODEL").pipe(Config.withDefault("gemma3:4b")),
  mcpUrl: Config.option(Config.nonEmptyString("EFFECT_ADC_DEMO_MCP_URL")),
  mcpTool: Config.option(Config.nonEmptyString("EFFECT_ADC_DEMO_MCP_TOOL")),
  mcpArgs: Config.string("EFFECT_ADC_DEMO_MCP_ARGS").pipe(
    Config.withDefault("{}"),
    Config.mapAttempt((text) => {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        value = undefined
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error("EFFECT_ADC_DEMO_MCP_ARGS must be a JSON object")
      }
      return value as Record<string, unknown>
    })
  )
}).pipe(Config.map((c): Setup => ({
  auth: AuthService.layerConfig(),
  gemini: { project: c.project, location: c.location, model: c.geminiModel },
  gemma: Option.map(c.gemmaUrl, (url) => ({ url, model: c.gemmaModel })),
  mcp: Option.map(c.mcpUrl, (url) => ({ url, tool: c.mcpTool, args: c.mcpArgs })),
  emulated: Option.none()
})))

/**
 * A demo that cannot run: its configuration (real mode) is missing or invalid.
 *
 * @since 0.1.0
 * @category Errors
 */
export class DemoConfigInvalid
  extends Schema.TaggedError<DemoConfigInvalid>("effect-adc/DemoConfigInvalid")("DemoConfigInvalid", {
    /** What is wrong and how to fix it (one line). */
    detail: Schema.String
  })
{
  /** @since 0.1.0 */
  override get message(): string {
    return this.detail
  }
}

/** The steps, the same for the emulator and Google Cloud. */
const run = (setup: Setup, lifetime: number) =>
  Effect.gen(function*() {
    const auth = yield* AuthService.AuthService
    const emulated = Option.getOrUndefined(setup.emulated)
    const count = (endpoint: Emulator.Endpoint) => emulated?.emulator.controls.count(endpoint) ?? 0

    yield* step(2, "Application Default Credentials")
    yield* ok(`source:    ${auth.identity.source} (${auth.identity.origin})`)
    yield* ok(`principal: ${auth.identity.principal ?? "unknown until a token is minted"}`)
    yield* ok(`project:   ${auth.identity.projectId ?? "unknown"}`)

    // Gemini on Vertex AI through ModelService: an access token, never an API key.
    yield* step(3, `Gemini (${setup.gemini.model}) on Vertex AI through ModelService, keyless`)
    const gemini = GeminiVertex.layer({
      project: setup.gemini.project,
      location: setup.gemini.location,
      baseUrl: setup.gemini.baseUrl,
      origins: setup.gemini.baseUrl === undefined ? undefined : [new URL(setup.gemini.baseUrl).origin]
    })
    const answer = yield* Effect.flatMap(ModelService, (model) =>
      model.generate({
        model: setup.gemini.model,
        contents: [ModelRequest.user("In one sentence: why are API keys risky for agents?")]
      })).pipe(Effect.provide(gemini))
    yield* ok(`Gemini answered: ${answer.text.trim()}`)
    if (emulated !== undefined) {
      const seen = emulated.gemini.requests.at(-1)
      const apiKey = seen === undefined ? "?" : seen.headers["x-goog-api-key"] ?? "none"
      yield* info(`the Gemini endpoint verified an access token for ${seen?.principal ?? "?"}; API key sent: ${apiKey}`)
    }

    // Gemma on a private Cloud Run service (Ollama), streaming, with an ID token.
    yield* step(4, "Gemma on private Cloud Run (Ollama backend), streaming with an ID token")
    yield* Option.match(setup.gemma, {
      onNone: () => skip("skipped: set EFFECT_ADC_DEMO_GEMMA_URL to your Ollama service on Cloud Run"),
      onSome: (gemma) =>
        Effect.gen(function*() {
          const unauthenticated = yield* Effect.promise(() => fetch(`${gemma.url}/api/tags`).catch(() => undefined))
          if (unauthenticated !== undefined) yield* info(`without a token: HTTP ${unauthenticated.status}`)
          yield* Console.log("      streaming:")
          let chunks = 0
          yield* Effect.flatMap(ModelService, (model) =>
            model.stream({
              model: gemma.model,
              contents: [ModelRequest.user("Name three things a Cloud Run service account needs to call Gemini.")]
            }).pipe(Stream.runForEach((chunk) =>
              chunk.textDelta === "" ? Effect.void : Effect.sync(() => {
                chunks++
                process.stdout.write(`        chunk ${chunks}: ${JSON.stringify(chunk.textDelta)}\n`)
              })
            ))).pipe(Effect.provide(Ollama.layer({ url: gemma.url })))
          yield* ok(`Gemma streamed ${chunks} chunks with an ID token for ${new URL(gemma.url).origin}`)
        })
    })

    // An MCP server on private Cloud Run: the MCP SDK's client with our signing fetch.
    yield* step(5, "A tool on an MCP server on private Cloud Run (MCP SDK client, our signing fetch)")
    const sdk = yield* loadMcpClient()
    yield* Option.match(setup.mcp, {
      onNone: () =>
        skip(
          Option.isNone(setup.emulated)
            ? "skipped: set EFFECT_ADC_DEMO_MCP_URL (and EFFECT_ADC_DEMO_MCP_TOOL) to your MCP server on Cloud Run"
            : "skipped: @modelcontextprotocol/sdk is not installed (npm install @modelcontextprotocol/sdk)"
        ),
      onSome: (mcp) =>
        Option.match(sdk, {
          onNone: () =>
            skip("skipped: @modelcontextprotocol/sdk is not installed (npm install @modelcontextprotocol/sdk)"),
          onSome: ({ Client, Transport }) =>
            Effect.gen(function*() {
              const runtime = yield* Effect.runtime<never>()
              const runPromise = Runtime.runPromise(runtime)
              const signer: SigningFetch.Signer = {
                headers: (target) => runPromise(auth.headers(target)),
                invalidate: (target, rejected) => runPromise(auth.invalidate(target, rejected))
              }
              const url = new URL(mcp.url)
              const client = new Client({ name: "effect-adc-demo", version: "0.1.0" })
              yield* Effect.acquireRelease(
                Effect.promise(() => client.connect(new Transport(url, Mcp.transportOptions(signer, url)))),
                () => Effect.promise(() => client.close())
              )
              const { tools } = yield* Effect.promise(() => client.listTools())
              yield* ok(`tools: ${tools.map((t) => t.name).join(", ")}`)
              for (const tool of Option.toArray(mcp.tool)) {
                const args = mcp.args
                const result = yield* Effect.promise(() => client.callTool({ name: tool, arguments: args }))
                const text = (result.content as ReadonlyArray<{ readonly text?: string }>).map((c) => c.text ?? "")
                  .join("")
                yield* ok(`MCP tool ${tool}(${JSON.stringify(args)}) = ${text}`)
              }
              if (tools.some((t) => t.name === "whoami")) {
                const result = yield* Effect.promise(() => client.callTool({ name: "whoami", arguments: {} }))
                const text = (result.content as ReadonlyArray<{ readonly text?: string }>).map((c) => c.text ?? "")
                  .join("")
                yield* info(`whoami (the caller Cloud Run let through): ${text}`)
              }
            }).pipe(Effect.scoped)
        })
    })

    // Background refresh.
    yield* step(6, "Background refresh: nobody waits for a token")
    if (emulated === undefined) {
      const token = yield* auth.accessToken()
      yield* ok(
        `access token ${fingerprint(token.value)} valid until ${new Date(token.expiresAt).toISOString()}; ` +
          "the cache refreshes it ahead of expiry in the background"
      )
    } else {
      const target = setup.gemma.pipe(
        Option.map((g) => new URL(g.url).origin),
        Option.getOrElse(() => "https://demo.a.run.app")
      )
      emulated.emulator.controls.setTokenLifetime(lifetime)
      yield* auth.invalidate({ kind: "id", audience: target })
      yield* info(`${lifetime}-second ID tokens; one call per second:`)
      const fetchesBefore = count("metadata.identity")
      const seen = new Set<string>()
      let waitedAfterFirst = 0
      for (let i = 0; i < 6; i++) {
        const waitsBefore = (yield* Metric.value(TokenCache.metrics.waits)).count
        const token = yield* auth.idToken(target)
        const waited = (yield* Metric.value(TokenCache.metrics.waits)).count > waitsBefore
        const value = fingerprint(token.value)
        yield* info(
          `t+${i}s ${value} ${seen.has(value) ? "(same)" : "(new) "} ` +
            `expires in ${(Math.round((token.expiresAt - Date.now()) / 100) / 10).toFixed(1)}s, ` +
            (waited ? "waited for a fetch" : "served from the cache")
        )
        if (waited && i > 0) waitedAfterFirst++
        seen.add(value)
        if (i < 5) yield* Effect.sleep("1 second")
      }
      const refreshed = count("metadata.identity") - fetchesBefore
      yield* ok(
        `refreshed in the background: ${seen.size} distinct tokens, ${refreshed} fetches, ` +
          `${waitedAfterFirst} callers waited after the first`
      )
    }

    yield* step(7, "What the emulated Google Cloud saw")
    if (emulated === undefined) {
      yield* ok("done against Google Cloud")
    } else {
      const counts = emulated.emulator.controls.counts()
      yield* info(
        `metadata server: ${counts["metadata.token"] ?? 0} access-token fetches, ${
          counts["metadata.identity"] ?? 0
        } ID-token fetches`
      )
      yield* info(
        `Gemini endpoint: ${emulated.gemini.requests.length} requests, API keys seen: ${
          emulated.gemini.requests.filter((r) => r.headers["x-goog-api-key"] !== undefined).length
        }`
      )
      yield* info(
        `Cloud Run front door: gemma ${counts["cloudrun:gemma"] ?? 0} requests, mcp-tools ${
          counts["cloudrun:mcp-tools"] ?? 0
        } requests`
      )
      yield* ok("Done. `effect-adc demo --real` runs the same program against Google Cloud (docs/cli.md).")
    }
  }).pipe(Effect.provide(setup.auth))

/**
 * Runs the demo.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const demo = (
  options: DemoOptions = {}
): Effect.Effect<
  void,
  DetectError | AuthError | ModelError.ModelError | ModelConfigError.ModelConfigError | DemoConfigInvalid
> =>
  Effect.gen(function*() {
    const real = options.real === true
    yield* step(
      1,
      real
        ? "Google Cloud with your Application Default Credentials"
        : "Booting as if on Cloud Run: a metadata server, no gcloud, no API key"
    )
    const setup = real
      ? yield* Effect.mapError(realSetup, (e) =>
        new DemoConfigInvalid({
          detail: `demo --real: ${String(e)}. Set the variables in docs/cli.md (GOOGLE_CLOUD_PROJECT, ` +
            "EFFECT_ADC_DEMO_*), or run `effect-adc demo` without --real on the embedded emulator."
        }))
      : yield* emulatedSetup(options.lifetimeSeconds ?? 4)
    for (const { emulator } of Option.toArray(setup.emulated)) {
      yield* ok(`metadata server at ${emulator.metadataHost} (GCE_METADATA_HOST), project ${emulator.projectId}`)
      yield* info(
        `Gemini endpoint ${setup.gemini.baseUrl}; Cloud Run services: ${
          [...Option.toArray(setup.gemma), ...Option.toArray(setup.mcp)].map((s) => s.url).join(", ")
        }`
      )
    }
    yield* run(setup, options.lifetimeSeconds ?? 4)
  }).pipe(Effect.provide(FetchHttpClient.layer), Effect.scoped)
