/**
 * Our own client for the metadata server (Cloud Run, GCE, GKE): the availability probe,
 * the token and identity leaves, the service account's email and the project id.
 *
 * Why not gcp-metadata (google-auth-library's `Compute` client): its requests take no
 * AbortSignal, so our timeout could not close a request to a hanging metadata server
 * (the socket stayed open); it does not retry 429 or honour `Retry-After`; and it caches
 * `isAvailable()` for the whole process, so one build that found the server down made
 * every later build fail. Here every request is an Effect: a timeout or an interruption
 * destroys the request and closes its socket, 429 and 5xx are retried with backoff that
 * honours `Retry-After` (bounded), and the probe runs on every build.
 *
 * Each request is one direct `node:http` GET, not `HttpClient`: this is the path of a
 * Cloud Run cold start (process start → first token), and `fetch` (Node's bundled undici,
 * initialised on first use) plus @effect/platform's client cost about a fifth of that
 * path's CPU, for a plain-text GET on a link-local address (docs/performance.md,
 * start-up). The host is found as gcp-metadata finds it: `GCE_METADATA_IP`, else
 * `GCE_METADATA_HOST`, else 169.254.169.254.
 *
 * `node:http` is taken with `process.getBuiltinModule`, not imported: an ES module import
 * of a built-in builds a facade that reads every export, and on Node 24 reading
 * `http.WebSocket` (a lazy getter) loads undici, which cost about 50 ms of a cold start's
 * CPU (issue 14, P6) for a module this client never uses.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import type * as Http from "node:http"
import { parseRetryAfter } from "../../internal/retryAfter.js"
import {
  type AccessTokenError,
  TokenEndpointUnreachable,
  TokenRequestRejected,
  TokenResponseInvalid
} from "../AuthError.js"
import { scrubDetail } from "./googleErrors.js"

/** @internal */
export interface MetadataOptions {
  /** Bound on one attempt (a timeout aborts the request). */
  readonly timeout: Duration.Duration
  /** Retries of a 429 or 5xx answer. Default 3. */
  readonly retries?: number | undefined
  /** First backoff step. Default 250 ms, doubling. */
  readonly retryInitial?: Duration.Duration | undefined
  /** A `Retry-After` longer than this is not waited for: the call fails at once. Default 30 s. */
  readonly maxRetryAfter?: Duration.Duration | undefined
}

/** The metadata server's base URL, `http://HOST/computeMetadata/v1`. @internal */
export const baseUrl = (): string => {
  const configured = process.env["GCE_METADATA_IP"] || process.env["GCE_METADATA_HOST"] || "169.254.169.254"
  const withScheme = /^https?:\/\//.test(configured) ? configured : `http://${configured}`
  return new URL("/computeMetadata/v1", withScheme).href
}

/** A 429 or 5xx answer, retried. */
class Retryable {
  readonly _tag = "Retryable"
  constructor(readonly status: number, readonly retryAfterMillis: number | undefined) {}
}

/** One answer: status, the two headers we read, the body text. */
interface Answer {
  readonly status: number
  readonly flavor: string | undefined
  readonly retryAfter: string | undefined
  readonly body: string
}

const transportError = (error: unknown): TokenEndpointUnreachable => {
  let cause: unknown = error
  let code: string | undefined
  for (let depth = 0; depth < 4 && typeof cause === "object" && cause !== null && code === undefined; depth++) {
    const c = (cause as { code?: unknown }).code
    if (typeof c === "string") code = c
    cause = (cause as { cause?: unknown }).cause
  }
  return new TokenEndpointUnreachable({
    endpoint: "metadata",
    reason: "Unreachable",
    detail: code ?? scrubDetail(error instanceof Error ? error.message : String(error))
  })
}

/** What `node:http` and `node:https` share for a GET. */
interface Client {
  readonly get: (
    url: URL,
    options: { readonly headers: Readonly<Record<string, string>> },
    callback: (response: Http.IncomingMessage) => void
  ) => Http.ClientRequest
}

/**
 * `node:http` or `node:https` without an ES module facade (see the module comment); a
 * Node without `process.getBuiltinModule` (before 22.3) imports it.
 */
const builtin = (id: "node:http" | "node:https"): Effect.Effect<Client> =>
  typeof process.getBuiltinModule === "function"
    ? Effect.sync((): Client => process.getBuiltinModule(id))
    : Effect.promise((): Promise<Client> => id === "node:http" ? import("node:http") : import("node:https"))

/**
 * One GET of `url` with `Metadata-Flavor: Google`; interrupting it (our timeout) destroys
 * the request and its socket. An https base URL (a `GCE_METADATA_HOST` with a scheme)
 * loads `node:https` then.
 */
const getOnce = (url: URL): Effect.Effect<Answer, TokenEndpointUnreachable> =>
  Effect.flatMap(
    builtin(url.protocol === "https:" ? "node:https" : "node:http"),
    (client) =>
      Effect.async<Answer, TokenEndpointUnreachable>((resume) => {
        const request = client.get(url, { headers: { "Metadata-Flavor": "Google" } }, (response) => {
          const chunks: Array<Buffer> = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on("error", (error) => resume(Effect.fail(transportError(error))))
          response.on("end", () => {
            const header = (name: string) => {
              const value = response.headers[name]
              return Array.isArray(value) ? value[0] : value
            }
            resume(Effect.succeed({
              status: response.statusCode ?? 0,
              flavor: header("metadata-flavor"),
              retryAfter: header("retry-after"),
              body: Buffer.concat(chunks).toString("utf8")
            }))
          })
        })
        request.on("error", (error) => resume(Effect.fail(transportError(error))))
        return Effect.sync(() => request.destroy())
      })
  )

/**
 * GET a metadata path: the body text of a 200 that carries `Metadata-Flavor: Google`.
 * Each attempt is bounded by `timeout` (which aborts it); 429 and 5xx are retried.
 *
 * @internal
 */
export const get = (
  path: string,
  params: Readonly<Record<string, string>>,
  options: MetadataOptions
): Effect.Effect<string, AccessTokenError> =>
  Effect.gen(function*() {
    const retries = options.retries ?? 3
    const retryInitial = Duration.toMillis(options.retryInitial ?? Duration.millis(250))
    const maxRetryAfter = Duration.toMillis(options.maxRetryAfter ?? Duration.seconds(30))
    const url = new URL(`${baseUrl()}/${path}`)
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)

    const once: Effect.Effect<Either.Either<string, Retryable>, AccessTokenError> = Effect.gen(function*() {
      const answer = yield* getOnce(url)
      const now = yield* Clock.currentTimeMillis
      if (answer.status === 429 || answer.status >= 500) {
        return Either.left(new Retryable(answer.status, parseRetryAfter(answer.retryAfter, now)))
      }
      if (answer.status !== 200) {
        return yield* new TokenRequestRejected({
          endpoint: "metadata",
          status: answer.status,
          code: `HTTP_${answer.status}`,
          description: scrubDetail(answer.body.trim().slice(0, 200))
        })
      }
      if (answer.flavor !== "Google") {
        return yield* new TokenResponseInvalid({
          endpoint: "metadata",
          detail: "the answer lacks `Metadata-Flavor: Google`, so it did not come from the metadata server"
        })
      }
      return Either.right(answer.body)
    }).pipe(
      Effect.timeoutFail({
        duration: options.timeout,
        onTimeout: () =>
          new TokenEndpointUnreachable({
            endpoint: "metadata",
            reason: "Timeout",
            detail: `no answer within ${Duration.format(options.timeout)}`
          })
      })
    )

    for (let attempt = 0;; attempt++) {
      const result = yield* once
      if (Either.isRight(result)) return result.right
      const { retryAfterMillis, status } = result.left
      const exhausted = attempt >= retries
      if (exhausted || (retryAfterMillis !== undefined && retryAfterMillis > maxRetryAfter)) {
        return yield* new TokenEndpointUnreachable({
          endpoint: "metadata",
          reason: status === 429 ? "RateLimited" : "Unreachable",
          detail: `HTTP ${status}${exhausted ? ` after ${attempt + 1} attempts` : ""}`,
          ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
        })
      }
      const jitter = yield* Random.nextRange(0.5, 1)
      const backoff = Math.round(retryInitial * 2 ** attempt * jitter)
      yield* Effect.sleep(Duration.millis(Math.max(backoff, retryAfterMillis ?? 0)))
    }
  })

/** An access token and its life in milliseconds. */
interface AccessToken {
  readonly token: string
  readonly lifetimeMillis: number
}

/**
 * The token reply: JSON with a non-empty `access_token` and a finite `expires_in`
 * (seconds), else `undefined`. Checked by hand, not with a Schema: `effect/Schema` pulls
 * fast-check onto the start-up path of every process on Cloud Run (see AuthError.ts).
 */
const decodeTokenResponse = (body: string): AccessToken | undefined => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!Predicate.hasProperty(json, "access_token") || !Predicate.hasProperty(json, "expires_in")) return undefined
  const { access_token, expires_in } = json
  return typeof access_token === "string" && access_token !== "" && typeof expires_in === "number" &&
      Number.isFinite(expires_in)
    ? { token: access_token, lifetimeMillis: expires_in * 1000 }
    : undefined
}

/**
 * An access token for the instance's default service account: its value and its life in
 * milliseconds (`expires_in`, relative, so a skewed clock does not matter).
 *
 * @internal
 */
export const accessToken = (
  scopes: ReadonlyArray<string>,
  options: MetadataOptions
): Effect.Effect<AccessToken, AccessTokenError> =>
  get("instance/service-accounts/default/token", { scopes: scopes.join(",") }, options).pipe(
    Effect.flatMap((body) => {
      const token = decodeTokenResponse(body)
      return token === undefined
        ? Effect.fail(
          new TokenResponseInvalid({
            endpoint: "metadata",
            detail: "the token response is not JSON with a non-empty access_token and a numeric expires_in"
          })
        )
        : Effect.succeed(token)
    })
  )

/**
 * A Google-signed ID token for `audience` (`format=full`: with the email claim).
 *
 * @internal
 */
export const identity = (
  audience: string,
  options: MetadataOptions
): Effect.Effect<string, AccessTokenError> =>
  get("instance/service-accounts/default/identity", { audience, format: "full" }, options).pipe(
    Effect.map((body) => body.trim())
  )

/**
 * Is a metadata server there? One attempt, no retry, a fresh probe on every call
 * (nothing is cached): the project id when a 200 with `Metadata-Flavor: Google`
 * answers, else `undefined`.
 *
 * @internal
 */
export const probe = (timeout: Duration.Duration): Effect.Effect<string | undefined, never> =>
  get("project/project-id", {}, { timeout, retries: 0 }).pipe(
    Effect.map((body) => body.trim()),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * A text leaf (the service account's email, the project id), or `undefined`.
 *
 * @internal
 */
export const text = (
  path: string,
  timeout: Duration.Duration
): Effect.Effect<string | undefined, never> =>
  get(path, {}, { timeout, retries: 1 }).pipe(
    Effect.map((body) => (body.trim() === "" ? undefined : body.trim())),
    Effect.orElseSucceed(() => undefined)
  )
