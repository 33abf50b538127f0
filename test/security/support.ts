/**
 * The harness of the hostile suites (test/security): it knows every secret a test
 * minted, records every header that reached a loopback server, captures everything a
 * user could print about a call (the error in every form, logs at Debug, console,
 * process warnings, OpenTelemetry spans from an in-memory exporter) and searches the
 * lot for the secrets.
 *
 * - {@link Secrets}: values collected from the wire (token responses of the metadata
 *   server and of the OAuth / IAM / STS endpoints, every header a loopback server saw),
 *   from credential files and from configuration (API keys), each with the distinctive
 *   substrings a partial print would still show (a JWT's signature, a slice of an
 *   access token, lines of a PEM body).
 * - {@link useWorld}: one emulator per file with the process pointed at it through a
 *   recording relay in front of its metadata server, and `clientOptions` whose `fetch`
 *   records the token endpoints' answers.
 * - {@link serve}: a recording loopback server (`127.0.0.1`, `127.0.0.2`, `::1`, or TLS).
 * - {@link observe}: runs a program (under `it.effect`: the TestClock is pushed to the
 *   next sleep whenever the wire is quiet) and returns its exit with every printed form.
 * - {@link leakReport}: the leaks of a cell as one text for `expect(...).toBe("")`.
 * - {@link backendLayer}: the one place that names the model backends' constructors.
 *
 * Environment: `EFFECT_ADC_SECURITY_REPORT=file` appends each cell's leaks to `file`
 * (JSON lines); `SEC_DEBUG=1` prints each observation's duration and clock jumps.
 *
 * @internal
 */
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, expect } from "@effect/vitest"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Util from "node:util"
import type { DetectError } from "../../src/auth/AuthError.js"
import * as AuthService from "../../src/auth/AuthService.js"
import type { TokenTarget } from "../../src/auth/TokenTarget.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import type { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { useEmulator } from "../support/emulator.js"
import { loopbackTls } from "../support/tls.js"

// -----------------------------------------------------------------------------
// Activity: every recorded wire event bumps it, so the clock driver knows when the
// wire is quiet.
// -----------------------------------------------------------------------------

let wireEvents = 0
const bump = () => {
  wireEvents += 1
}

/** Requests in flight at a tap, by when they started (real ms). */
const inFlight = new Set<{ readonly since: number }>()
const track = () => {
  const entry = { since: Date.now() }
  inFlight.add(entry)
  bump()
  return () => {
    inFlight.delete(entry)
    bump()
  }
}

/**
 * Whether a tapped request is in flight and younger than `stalledAfterMs` (an older one
 * is taken for a hang that only time can end).
 */
export const wireBusy = (stalledAfterMs: number): boolean => {
  const now = Date.now()
  for (const entry of inFlight) if (now - entry.since < stalledAfterMs) return true
  return false
}

// -----------------------------------------------------------------------------
// Secrets
// -----------------------------------------------------------------------------

/** What a found secret was. */
export type SecretKind = "access-token" | "id-token" | "refresh-token" | "private-key" | "client-secret" | "api-key"

/** One secret value and the substrings that betray it. */
export interface Secret {
  readonly kind: SecretKind
  readonly value: string
  readonly needles: ReadonlyArray<string>
}

/** Where a secret was found. */
export interface Leak {
  readonly where: string
  readonly kind: SecretKind | "pattern"
  /** the first characters of the found needle (enough to tell which, never the whole) */
  readonly hint: string
}

const ACCESS = /ya29\.[A-Za-z0-9_.-]{20,}/g
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/g
const REFRESH = /1\/\/0[A-Za-z0-9_-]{20,}/g

const needlesOf = (kind: SecretKind, value: string): ReadonlyArray<string> => {
  switch (kind) {
    case "id-token": {
      const signature = value.split(".")[2]
      return signature === undefined || signature.length < 20 ? [value] : [value, signature]
    }
    case "access-token":
    case "refresh-token":
      return value.length >= 40 ? [value, value.slice(10, 34)] : [value]
    case "private-key": {
      const body = value.replace(/-----[A-Z ]+-----/g, "").replace(/\\n|\s/g, "")
      // the first 20 characters (a printed file shows them) and distinctive windows
      // (the opening is the same in every RSA-2048 PKCS#8 key)
      return [body.slice(0, 20) + body.slice(20, 48), body.slice(200, 232), body.slice(800, 832), body.slice(-40, -8)]
    }
    case "client-secret":
    case "api-key":
      return [value]
  }
}

/**
 * Every secret of a test file. Values come in through {@link Secrets.add} and
 * {@link Secrets.scan} (which picks tokens out of a text: `ya29.` access tokens, signed
 * JWTs, `1//0` refresh tokens).
 */
export class Secrets {
  private readonly byValue = new Map<string, Secret>()

  add(kind: SecretKind, value: string): void {
    if (value.length < 8 || this.byValue.has(value)) return
    this.byValue.set(value, { kind, value, needles: needlesOf(kind, value).filter((n) => n.length >= 16) })
  }

  /** Add every token found in a text (a token response, a header). */
  scan(text: string): void {
    for (const m of text.matchAll(ACCESS)) this.add("access-token", m[0])
    for (const m of text.matchAll(JWT)) this.add("id-token", m[0])
    for (const m of text.matchAll(REFRESH)) this.add("refresh-token", m[0])
  }

  /** Add a credential file: its private key, refresh token and client secret. */
  addFile(path: string): void {
    const json = JSON.parse(Fs.readFileSync(path, "utf8")) as Record<string, unknown>
    const pick = (k: string) => (typeof json[k] === "string" ? json[k] : undefined)
    const key = pick("private_key")
    if (key !== undefined) this.add("private-key", key)
    const refresh = pick("refresh_token")
    if (refresh !== undefined) this.add("refresh-token", refresh)
    const clientSecret = pick("client_secret")
    if (clientSecret !== undefined) this.add("client-secret", clientSecret)
    const source = json["source_credentials"]
    if (typeof source === "object" && source !== null) {
      for (const [k, v] of Object.entries(source)) {
        if (typeof v !== "string") continue
        if (k === "private_key") this.add("private-key", v)
        if (k === "refresh_token") this.add("refresh-token", v)
        if (k === "client_secret") this.add("client-secret", v)
      }
    }
  }

  get all(): ReadonlyArray<Secret> {
    return [...this.byValue.values()]
  }

  /** How many values of a kind were collected (a test that expects a token to exist checks it). */
  count(kind: SecretKind): number {
    return this.all.filter((s) => s.kind === kind).length
  }

  /** Every secret (or token-shaped string) in the texts, by where it was found. */
  find(forms: ReadonlyArray<Form>): ReadonlyArray<Leak> {
    const leaks: Array<Leak> = []
    const secrets = this.all
    for (const form of forms) {
      const seen = new Set<string>()
      for (const secret of secrets) {
        const needle = secret.needles.find((n) => form.text.includes(n))
        if (needle !== undefined && !seen.has(secret.kind)) {
          seen.add(secret.kind)
          leaks.push({ where: form.where, kind: secret.kind, hint: needle.slice(0, 8) })
        }
      }
      if (seen.size === 0) {
        const pattern = form.text.match(ACCESS) ?? form.text.match(JWT) ?? form.text.match(REFRESH)
        if (pattern !== null) leaks.push({ where: form.where, kind: "pattern", hint: pattern[0].slice(0, 8) })
      }
    }
    return leaks
  }
}

// -----------------------------------------------------------------------------
// Recording loopback servers
// -----------------------------------------------------------------------------

/** One request as a server saw it. */
export interface Seen {
  /** `scheme://` + the Host header: the origin the client addressed */
  readonly origin: string
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** A recording loopback server. */
export interface Served {
  /** `http(s)://HOST:PORT` as addressed by IP (`[::1]` for IPv6) */
  readonly url: string
  readonly port: number
  readonly seen: Array<Seen>
  handler: Http.RequestListener
  readonly close: () => Promise<void>
}

const flatHeaders = (req: Http.IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase()
    out[name] = out[name] === undefined ? req.rawHeaders[i + 1]! : `${out[name]}, ${req.rawHeaders[i + 1]!}`
  }
  return out
}

let tlsContext: { readonly key: string; readonly cert: string } | undefined

/** A certificate for 127.0.0.1 / localhost, trusted by this process (fetch and undici). */
const trustedTls = () => {
  if (tlsContext !== undefined) return tlsContext
  tlsContext = loopbackTls({ subject: "effect-adc security suite", ipAddresses: ["127.0.0.1"], trust: true })
  return tlsContext
}

/**
 * A loopback server that records every request's headers and feeds their tokens to
 * `secrets`, then hands the request to `handler` (replaceable).
 */
export const serve = async (
  handler: Http.RequestListener,
  options: { readonly host?: "127.0.0.1" | "127.0.0.2" | "::1"; readonly tls?: boolean; readonly secrets?: Secrets } =
    {}
): Promise<Served> => {
  const host = options.host ?? "127.0.0.1"
  const tls = options.tls === true
  const sockets = new Set<import("node:net").Socket>()
  const served: Served = {
    url: "",
    port: 0,
    seen: [],
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
  const listener: Http.RequestListener = (req, res) => {
    res.on("close", track())
    const headers = flatHeaders(req)
    served.seen.push({
      origin: `${tls ? "https" : "http"}://${headers["host"] ?? ""}`,
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers
    })
    if (options.secrets !== undefined) { for (const value of Object.values(headers)) options.secrets.scan(value) }
    served.handler(req, res)
  }
  const server = tls ? Https.createServer(trustedTls(), listener) : Http.createServer(listener)
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(served, {
    url: `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port
  })
}

// -----------------------------------------------------------------------------
// The world: emulator + taps on every token source
// -----------------------------------------------------------------------------

/** What {@link useWorld} hands a test file. */
export interface World {
  readonly emulator: Emulator.EmulatorHandle
  readonly secrets: Secrets
  /** `clientOptions` for AuthService whose `fetch` records the token endpoints' answers */
  readonly clientOptions: Record<string, unknown>
  /** The AuthService layer (metadata server credentials unless `keyFile` is given); a fresh cache per build. */
  readonly auth: (options?: AuthService.Options) => Layer.Layer<AuthService.AuthService, DetectError>
  /** sum of every counter: emulator endpoints and recorded wire events */
  readonly activity: () => number
}

/**
 * One emulator for the file, with the process environment pointed at it, its metadata
 * server behind a recording relay (`GCE_METADATA_HOST`), and a recording `fetch` for
 * google-auth-library's token endpoints. API keys set in the environment
 * (`GOOGLE_API_KEY`, `GEMINI_API_KEY`) are secrets too.
 */
export const useWorld = (options: Emulator.EmulatorOptions = {}): World => {
  const emulator = useEmulator({ env: true, ...options })
  const secrets = new Secrets()
  let relay: Served | undefined
  let fetchImpl: typeof globalThis.fetch | undefined
  beforeAll(async () => {
    const upstream = emulator.metadataHost
    relay = await serve((req, res) => {
      const forward = Http.request(
        {
          host: upstream.split(":")[0],
          port: Number(upstream.split(":")[1]),
          method: req.method,
          path: req.url,
          headers: req.headers
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          const chunks: Array<Buffer> = []
          answer.on("data", (chunk: Buffer) => {
            chunks.push(chunk)
            res.write(chunk)
          })
          answer.on("end", () => {
            // the whole body: a token split across reads is still found
            secrets.scan(Buffer.concat(chunks).toString("latin1"))
            res.end()
          })
          answer.on("error", () => res.destroy())
        }
      )
      forward.on("error", () => res.destroy())
      res.on("close", () => forward.destroy())
      req.pipe(forward)
    })
    const host = relay.url.replace("http://", "")
    process.env["GCE_METADATA_HOST"] = host
    process.env["GCE_METADATA_IP"] = host
    process.env["GOOGLE_API_KEY"] = `AIzaSy${Crypto.randomBytes(24).toString("base64url")}`
    secrets.add("api-key", process.env["GOOGLE_API_KEY"])
    secrets.add("refresh-token", emulator.user.refreshToken)
    secrets.add("client-secret", emulator.user.clientSecret)
    const base = emulator.fetch
    fetchImpl = async (input, init) => {
      const done = track()
      try {
        const body = typeof init?.body === "string" ? init.body : ""
        secrets.scan(body)
        const response = await base(input, init)
        const text = await response.clone().text().catch(() => "")
        secrets.scan(text)
        return response
      } finally {
        done()
      }
    }
  })
  afterAll(async () => {
    await relay?.close()
  })
  const world: World = {
    emulator,
    secrets,
    get clientOptions() {
      return { transporterOptions: { fetchImplementation: fetchImpl } }
    },
    auth: (authOptions = {}) => {
      if (authOptions.keyFile !== undefined) secrets.addFile(authOptions.keyFile)
      return AuthService.layer({ projectId: emulator.projectId, clientOptions: world.clientOptions, ...authOptions })
    },
    activity: () => wireEvents + Object.values(emulator.controls.counts()).reduce((a, b) => a + b, 0)
  }
  return world
}

/**
 * One AuthService for a whole file, built once after the world (google-auth-library's
 * detection is the slow part of a cell): for suites whose cells attack something other
 * than auth. Returns a layer that provides it (never closed by the cells).
 */
export const useSharedAuth = (world: World): () => Layer.Layer<AuthService.AuthService> => {
  let runtime: ManagedRuntime.ManagedRuntime<AuthService.AuthService, never> | undefined
  let service: AuthService.AuthService.Service | undefined
  beforeAll(async () => {
    runtime = ManagedRuntime.make(Layer.orDie(world.auth()))
    service = await runtime.runPromise(AuthService.AuthService)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })
  return () =>
    Layer.effect(
      AuthService.AuthService,
      Effect.suspend(() =>
        service === undefined
          ? Effect.dieMessage("the shared AuthService is built in beforeAll")
          : Effect.succeed(service)
      )
    )
}

// -----------------------------------------------------------------------------
// Observation: every printed form of a program's outcome
// -----------------------------------------------------------------------------

/** One text a user could see. */
export interface Form {
  readonly where: string
  readonly text: string
}

/** What {@link observe} returns. */
export interface Observation<A, E> {
  readonly exit: Exit.Exit<A, E>
  readonly forms: ReadonlyArray<Form>
  /** how many spans were exported */
  readonly spans: number
}

const safe = (f: () => string): string => {
  try {
    return f()
  } catch (error) {
    return `<threw: ${error instanceof Error ? error.message : String(error)}>`
  }
}

const inspect = (u: unknown) => Util.inspect(u, { depth: Infinity, showHidden: false, getters: true })

/** The forms of a thrown or failed value: message, String, toString, JSON, inspect. */
export const errorForms = (label: string, error: unknown): Array<Form> => {
  const forms: Array<Form> = [
    { where: `${label} String(e)`, text: safe(() => String(error)) },
    { where: `${label} JSON.stringify(e)`, text: safe(() => JSON.stringify(error) ?? "") },
    { where: `${label} util.inspect(e)`, text: safe(() => inspect(error)) }
  ]
  if (typeof error === "object" && error !== null) {
    const e = error as {
      message?: unknown
      toString?: () => string
      toJSON?: () => unknown
      stack?: unknown
      cause?: unknown
    }
    forms.push({ where: `${label} e.message`, text: safe(() => String(e.message)) })
    forms.push({ where: `${label} e.toString()`, text: safe(() => String(e.toString?.())) })
    if (typeof e.toJSON === "function") {
      forms.push({
        where: `${label} e.toJSON()`,
        text: safe(() => inspect(e.toJSON!()))
      })
    }
    forms.push({ where: `${label} e.stack`, text: safe(() => String(e.stack)) })
    if (e.cause !== undefined) forms.push({ where: `${label} String(e.cause)`, text: safe(() => String(e.cause)) })
  }
  return forms
}

/** The forms of an exit: its error (or value), Cause.pretty, the exit's JSON and inspect. */
export const exitForms = (exit: Exit.Exit<unknown, unknown>): Array<Form> => {
  const forms: Array<Form> = [
    { where: "exit JSON.stringify", text: safe(() => JSON.stringify(exit) ?? "") },
    { where: "exit util.inspect", text: safe(() => inspect(exit)) }
  ]
  if (Exit.isSuccess(exit)) {
    forms.push({ where: "value util.inspect", text: safe(() => inspect(exit.value)) })
    forms.push({ where: "value JSON.stringify", text: safe(() => JSON.stringify(exit.value) ?? "") })
    return forms
  }
  forms.push({ where: "Cause.pretty", text: safe(() => Cause.pretty(exit.cause, { renderErrorCause: true })) })
  const failure = Cause.failureOption(exit.cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
  forms.push(...errorForms("error", error))
  return forms
}

const recordingLogger = (into: Array<Form>) =>
  Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    into.push({
      where: `log ${logLevel.label}`,
      text: [
        safe(() => inspect(message)),
        safe(() => inspect(annotations)),
        safe(() => inspect(spans)),
        Cause.isEmpty(cause) ? "" : safe(() => Cause.pretty(cause, { renderErrorCause: true }))
      ].join("\n")
    })
  })

/** Console methods, stdout/stderr and process warnings, recorded and silenced until `restore`. */
const captureConsole = (into: Array<Form>) => {
  const names = ["log", "info", "warn", "error", "debug", "trace"] as const
  const saved = names.map((n) => console[n])
  for (const n of names) {
    console[n] = (...args: Array<unknown>) => {
      into.push({ where: `console.${n}`, text: args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ") })
    }
  }
  const emitWarning = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: Array<unknown>) => {
    into.push({ where: "process.emitWarning", text: `${inspect(warning)} ${inspect(rest)}` })
  }) as typeof process.emitWarning
  const writes = [process.stdout.write, process.stderr.write] as const
  process.stdout.write = ((chunk: unknown) => {
    into.push({ where: "stdout", text: String(chunk) })
    return true
  }) as typeof process.stdout.write
  process.stderr.write = ((chunk: unknown) => {
    into.push({ where: "stderr", text: String(chunk) })
    return true
  }) as typeof process.stderr.write
  return () => {
    names.forEach((n, i) => {
      console[n] = saved[i]!
    })
    process.emitWarning = emitWarning
    process.stdout.write = writes[0]
    process.stderr.write = writes[1]
  }
}

const spanForms = (exporter: InMemorySpanExporter): Array<Form> =>
  exporter.getFinishedSpans().flatMap((span) => {
    const forms: Array<Form> = [
      { where: `span ${span.name} name`, text: span.name },
      { where: `span ${span.name} status`, text: `${span.status.code} ${span.status.message ?? ""}` }
    ]
    for (const [key, value] of Object.entries(span.attributes)) {
      forms.push({
        where: `span ${span.name} attribute ${key}`,
        text: safe(() => (typeof value === "string" ? value : JSON.stringify(value)))
      })
    }
    for (const event of span.events) {
      forms.push({
        where: `span ${span.name} event ${event.name}`,
        text: safe(() => `${event.name} ${JSON.stringify(event.attributes ?? {})}`)
      })
    }
    for (const link of span.links) {
      forms.push({
        where: `span ${span.name} link`,
        text: safe(() => JSON.stringify(link.attributes ?? {}))
      })
    }
    return forms
  })

/** One turn of Node's event loop, so loopback I/O progresses under the TestClock. */
export const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Run `program` (in its own scope) under a fresh in-memory span exporter, a logger that
 * records every message with its annotations at Debug, and captured console output.
 * While it runs, real loopback I/O progresses; whenever the wire has been quiet for a
 * while (no tapped request in flight but hung ones, no new event for 40 ms), the
 * TestClock jumps to the next pending sleep (retry backoff, timeouts), so a
 * program that waits for time settles without real sleeps. Must run under `it.effect`.
 */
export const observe = <A, E>(
  program: Effect.Effect<A, E, Scope.Scope>,
  world: Pick<World, "activity">,
  options: {
    /** a tapped request older than this is a hang that only the clock ends (default 300 ms) */
    readonly stalledAfterMs?: number
  } = {}
): Effect.Effect<Observation<A, E>> =>
  Effect.gen(function*() {
    // A provider of our own (no shutdown with the program's scope: the exporter keeps its spans)
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const printed: Array<Form> = []
    const restore = captureConsole(printed)
    const telemetry = Layer.mergeAll(
      OtelTracer.layer.pipe(
        Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)),
        Layer.provide(OtelResource.layer({ serviceName: "effect-adc-security" }))
      ),
      Logger.replace(Logger.defaultLogger, recordingLogger(printed)),
      Logger.minimumLogLevel(LogLevel.All)
    )
    const fiber = yield* Effect.fork(Effect.exit(Effect.scoped(program).pipe(Effect.provide(telemetry))))
    let exit: Exit.Exit<A, E> | undefined
    let last = world.activity()
    let quiet = 0
    let since = Date.now()
    const started = Date.now()
    let adjusts = 0
    for (let i = 0; i < 400_000 && exit === undefined; i++) {
      const polled = yield* Fiber.poll(fiber)
      if (Option.isSome(polled)) {
        exit = Exit.flatten(polled.value)
        break
      }
      yield* tick
      const now = world.activity()
      if (now !== last) {
        last = now
        quiet = 0
        since = Date.now()
        continue
      }
      quiet += 1
      if (quiet > 100 && Date.now() - since > 40 && !wireBusy(options.stalledAfterMs ?? 300)) {
        const sleeps = yield* TestClock.sleeps()
        if (Chunk.isNonEmpty(sleeps)) {
          const at = Math.min(...Chunk.toReadonlyArray(sleeps))
          const current = yield* Clock.currentTimeMillis
          yield* TestClock.adjust(Math.max(1, at - current))
          adjusts += 1
        }
        quiet = 0
        since = Date.now()
      }
    }
    restore()
    if (process.env["SEC_DEBUG"] !== undefined) {
      process.stderr.write(`observe: ${Date.now() - started} ms, ${adjusts} clock jumps\n`)
    }
    if (exit === undefined) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.dieMessage("the observed program did not settle")
    }
    const spans = exporter.getFinishedSpans().length
    return { exit, forms: [...exitForms(exit), ...printed, ...spanForms(exporter)], spans }
  })

/** Leaks as readable lines (`where: kind`), for `expect(...).toEqual([])`. */
export const describeLeaks = (
  leaks: ReadonlyArray<Leak>
): ReadonlyArray<string> => [...new Set(leaks.map((l) => `${l.where}: ${l.kind} (${l.hint}…)`))]

/**
 * The leaks of a cell as one text ("" when none), for `expect(...).toBe("")`: a failure
 * prints every place. With `EFFECT_ADC_SECURITY_REPORT=file`, each cell's leaks are also
 * appended to that file as a JSON line (`{ cell, leaks }`), to group failures by cause.
 */
export const leakReport = (secrets: Secrets, forms: ReadonlyArray<Form>): string => {
  const started = Date.now()
  const lines = describeLeaks(secrets.find(forms))
  if (process.env["SEC_DEBUG"] !== undefined) {
    process.stderr.write(
      `find: ${Date.now() - started} ms, ${forms.length} forms, ${
        forms.reduce((n, f) => n + f.text.length, 0)
      } chars, ${secrets.all.length} secrets\n`
    )
  }
  const file = process.env["EFFECT_ADC_SECURITY_REPORT"]
  if (file !== undefined && file !== "") {
    const name = expect.getState().currentTestName ?? "?"
    Fs.appendFileSync(file, JSON.stringify({ cell: name, leaks: lines }) + "\n")
  }
  return lines.join("\n")
}

// -----------------------------------------------------------------------------
// Model backends: the one place that names their constructors
// -----------------------------------------------------------------------------

/** The model backend variants the suites attack. */
export const backends = [
  "gemini-vertex",
  "gemini-api",
  "gemini-cloud-run",
  "ollama",
  "ollama-xsa",
  "openai",
  "openai-api-key",
  "openai-xsa"
] as const

/** One of {@link backends}. */
export type BackendName = (typeof backends)[number]

/** The protocol a backend variant speaks (what its upstream emulator must be). */
export const protocolOf = (name: BackendName): "gemini" | "ollama" | "openai" =>
  name.startsWith("gemini") ? "gemini" : name.startsWith("ollama") ? "ollama" : "openai"

/** The token a backend variant sends: an access token (Gemini on Google) or an ID token. */
export const tokenKindOf = (name: BackendName): "access" | "id" =>
  name === "gemini-vertex" || name === "gemini-api" ? "access" : "id"

/** Where the token of a backend variant goes. */
export const tokenHeaderOf = (name: BackendName): "authorization" | "x-serverless-authorization" =>
  name === "ollama-xsa" || name === "openai-api-key" || name === "openai-xsa"
    ? "x-serverless-authorization"
    : "authorization"

/** The vLLM `--api-key` of the `openai-api-key` variant (a secret of its own). */
export const vllmApiKey = Redacted.make(`vllm-${Crypto.randomBytes(18).toString("base64url")}`)

/** The model name each protocol's emulator serves. */
export const modelOf = (name: BackendName): string =>
  protocolOf(name) === "gemini"
    ? "gemini-2.5-flash"
    : protocolOf(name) === "ollama"
    ? "gemma3:4b"
    : "google/gemma-3-4b-it"

/** The HTTP clients the suites run on. */
export const httpClients = {
  fetch: FetchHttpClient.layer,
  undici: NodeHttpClient.layerUndici,
  "undici-lean": UndiciHttpClient.layer
} as const satisfies Record<string, Layer.Layer<HttpClient.HttpClient>>

/** Options of {@link backendLayer}. */
export interface BackendOptions {
  /** the upstream base URL (a loopback server) */
  readonly url: string
  /** extra origins for the token: access tokens need it for loopback */
  readonly origins?: ReadonlyArray<string> | undefined
  readonly retry?: RetryPolicy.RetryPolicy | undefined
}

/**
 * ModelService for a backend variant against `url`. Access-token backends get `url`'s
 * origin as their configured extra origin (loopback is not a Google API host); ID-token
 * backends mint for `url`'s origin (the audience).
 */
export const backendLayer = (
  name: BackendName,
  options: BackendOptions
): Layer.Layer<ModelService, never, AuthService.AuthService | HttpClient.HttpClient> => {
  const origin = new URL(options.url).origin
  const common = { origins: options.origins ?? [origin], retry: options.retry ?? RetryPolicy.defaultPolicy }
  switch (name) {
    case "gemini-vertex":
      return Layer.orDie(
        GeminiVertex.layer({ project: "emulator-project", location: "global", baseUrl: options.url, ...common })
      )
    case "gemini-api":
      return Layer.orDie(GeminiApi.layer({ baseUrl: options.url, quotaProject: "quota-project", ...common }))
    case "gemini-cloud-run":
      return Layer.orDie(
        GeminiApi.layer({ baseUrl: options.url, target: idTarget(origin, "authorization"), retry: common.retry })
      )
    case "ollama":
      return Ollama.layer({ url: options.url, retry: common.retry })
    case "ollama-xsa":
      return Ollama.layer({ url: options.url, header: "X-Serverless-Authorization", retry: common.retry })
    case "openai":
      return OpenAICompatible.layer({ url: options.url, retry: common.retry })
    case "openai-api-key":
      return OpenAICompatible.layer({ url: options.url, apiKey: vllmApiKey, retry: common.retry })
    case "openai-xsa":
      return OpenAICompatible.layer({ url: options.url, header: "X-Serverless-Authorization", retry: common.retry })
  }
}

const idTarget = (audience: string, header: "authorization" | "x-serverless-authorization"): TokenTarget => ({
  kind: "id",
  audience,
  header: header === "authorization" ? "Authorization" : "X-Serverless-Authorization"
})
