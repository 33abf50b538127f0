/**
 * The sidecar proxy's configuration: where it listens, its limits, and the route table
 * (path prefix → upstream, token kind, audience, header). Decoded with Schema from a
 * JSON file or built from `--route` flags; anything malformed is a `ProxyConfigInvalid`
 * that says what to fix.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * One route. Requests whose path starts with `prefix` go to `upstream` + the rest of the
 * path. `kind` defaults to `access` for Google API upstreams (`*.googleapis.com`, a Vertex AI
 * dedicated endpoint `{id}.{region}-{n}.prediction.vertexai.goog`) and `id` otherwise;
 * `audience` defaults to the upstream's origin.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class Route extends Schema.Class<Route>("effect-adc/ProxyRoute")({
  prefix: Schema.String.pipe(Schema.startsWith("/")),
  upstream: Schema.String,
  kind: Schema.optional(Schema.Literal("access", "id")),
  audience: Schema.optional(Schema.String),
  header: Schema.optional(Schema.Literal("Authorization", "X-Serverless-Authorization")),
  scopes: Schema.optional(Schema.Array(Schema.String)),
  /** Forward the caller's own `Authorization` upstream (only with `X-Serverless-Authorization`). */
  forwardAuthorization: Schema.optional(Schema.Boolean)
}) {}

/**
 * The whole configuration.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class ProxyConfig extends Schema.Class<ProxyConfig>("effect-adc/ProxyConfig")({
  host: Schema.optionalWith(Schema.String, { default: () => "127.0.0.1" }),
  port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 8080 }),
  /** Binding to anything but loopback needs this, so the proxy is never an open relay by accident. */
  allowNonLoopback: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Largest request body accepted (bytes). Default 32 MiB. */
  maxBodyBytes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 32 * 1024 * 1024 }),
  /** Largest request head accepted (bytes). Default 16 KiB. */
  maxHeaderBytes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 16 * 1024 }),
  /** Request bodies up to this size are buffered so a 401 can be replayed. Default 1 MiB. */
  replayBufferBytes: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 1024 * 1024 }),
  /**
   * How long the upstream may take to send its response head once the request is sent
   * (ms); then the client gets a 504 `upstream-timeout`. Default 300 000 (5 min, Cloud
   * Run's default request timeout: room for a GPU cold start and a long generation).
   */
  responseTimeoutMs: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 300_000 }),
  /**
   * How long the upstream may stay silent between two chunks of its response body, or
   * take none of the request body (ms); then the stream is aborted (or, before the
   * response head, the client gets a 504 `upstream-idle`). Default 120 000 (2 min).
   */
  idleTimeoutMs: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 120_000 }),
  routes: Schema.NonEmptyArray(Route)
}) {}

/**
 * The configuration is malformed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ProxyConfigInvalid extends Schema.TaggedError<ProxyConfigInvalid>("effect-adc/ProxyConfigInvalid")(
  "ProxyConfigInvalid",
  { detail: Schema.String }
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `The proxy configuration is invalid: ${this.detail}. Routes look like ` +
      `--route /gemma=https://gemma-abc-uc.a.run.app or {"routes":[{"prefix":"/gemma","upstream":"https://…"}]}; ` +
      `see docs/proxy.md.`
  }
}

const loopback = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

/** Checks what the Schema cannot: upstream URLs, non-loopback binding. */
const check = (config: ProxyConfig): Effect.Effect<ProxyConfig, ProxyConfigInvalid> => {
  if (!config.allowNonLoopback && !loopback.has(config.host)) {
    return Effect.fail(
      new ProxyConfigInvalid({
        detail:
          `binding to ${config.host} exposes the proxy beyond this machine; pass --allow-non-loopback if you mean it`
      })
    )
  }
  for (const route of config.routes) {
    let url: URL
    try {
      url = new URL(route.upstream)
    } catch {
      return Effect.fail(new ProxyConfigInvalid({ detail: `upstream ${JSON.stringify(route.upstream)} is not a URL` }))
    }
    if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
      return Effect.fail(
        new ProxyConfigInvalid({
          detail:
            `upstream of route ${route.prefix} must be scheme://host[:port][/base-path], without user info, query or fragment`
        })
      )
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback.has(url.hostname))) {
      return Effect.fail(
        new ProxyConfigInvalid({ detail: `upstream ${route.upstream} must be https (http only for loopback)` })
      )
    }
    if (route.forwardAuthorization === true && route.header !== "X-Serverless-Authorization") {
      return Effect.fail(
        new ProxyConfigInvalid({
          detail:
            `route ${route.prefix} forwards the caller's Authorization, so the token must go in X-Serverless-Authorization`
        })
      )
    }
  }
  return Effect.succeed(config)
}

/**
 * Decodes a configuration from JSON-shaped input.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const decode = (input: unknown): Effect.Effect<ProxyConfig, ProxyConfigInvalid> =>
  Schema.decodeUnknown(ProxyConfig)(input, { onExcessProperty: "error" }).pipe(
    Effect.mapError((error) =>
      new ProxyConfigInvalid({ detail: ParseResult.TreeFormatter.formatErrorSync(error).replace(/\n\s*/g, " ") })
    ),
    Effect.flatMap(check)
  )

/**
 * Parses a `--route` flag: `/prefix=https://upstream[,id|access][,audience=…][,header=X-Serverless-Authorization]`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const parseRouteFlag = (flag: string): Effect.Effect<Record<string, unknown>, ProxyConfigInvalid> => {
  const [mapping = "", ...extras] = flag.split(",")
  const eq = mapping.indexOf("=")
  if (eq <= 0) {
    return Effect.fail(new ProxyConfigInvalid({ detail: `--route ${JSON.stringify(flag)} has no /prefix=upstream` }))
  }
  const route: Record<string, unknown> = { prefix: mapping.slice(0, eq), upstream: mapping.slice(eq + 1) }
  for (const extra of extras) {
    if (extra === "id" || extra === "access") route["kind"] = extra
    else if (extra.startsWith("audience=")) route["audience"] = extra.slice("audience=".length)
    else if (extra.startsWith("header=")) route["header"] = extra.slice("header=".length)
    else if (extra === "forward-authorization") route["forwardAuthorization"] = true
    else return Effect.fail(new ProxyConfigInvalid({ detail: `--route option ${JSON.stringify(extra)} is unknown` }))
  }
  return Effect.succeed(route)
}
