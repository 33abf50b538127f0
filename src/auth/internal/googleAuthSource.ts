/**
 * Application Default Credentials, resolved by us: a credential file is served by
 * google-auth-library's per-type clients (`librarySource.ts`, loaded only then), the
 * metadata server by our own client (`metadataServer.ts`).
 *
 * The ADC order is google-auth-library's: the `credentials` option, the `keyFile`
 * option, GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file, then the metadata
 * server. We walk it ourselves because the library's walk (a) reaches the credential
 * through its deprecated `keyFilename` / `credentials` / `fromJSON` paths, which print
 * warnings, (b) checks a file only when a token is first fetched, so a corrupt
 * `private_key` was reported as the token endpoint's fault, and (c) caches the metadata
 * probe for the whole process. Here every file is read and checked at layer build
 * (`CredentialsInvalid` naming the field), the metadata server is probed on each build,
 * and its requests can be aborted (`metadataServer.ts`).
 *
 * Start-up: this module does not import google-auth-library. On the metadata server
 * (Cloud Run, GCE, GKE) a process goes from start to its first token without loading
 * it; a credential file loads `librarySource.ts` (and the library) with a dynamic
 * `import()` when the layer is built (docs/performance.md, start-up).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type AccessTokenError, CredentialsNotFound, type DetectError, type IdTokenError } from "../AuthError.js"
import * as AuthToken from "../AuthToken.js"
import type { CredentialSource, Identity } from "../CredentialSource.js"
import { type JsonCredentials, readFile, validate, wellKnownFile } from "./credentialFile.js"
import { idTokenOf } from "./jwt.js"
import * as Metadata from "./metadataServer.js"

/** @internal */
export interface GoogleAuthSourceOptions {
  readonly credentials?: Record<string, unknown> | undefined
  readonly keyFile?: string | undefined
  readonly projectId?: string | undefined
  /** Passed to every google-auth-library client (transporter options, universe domain). */
  readonly clientOptions?: Record<string, unknown> | undefined
  readonly detectTimeout: Duration.Duration
  readonly requestTimeout: Duration.Duration
}

/** The metadata probe's bound (gcp-metadata's, off Google Cloud). */
const probeTimeout = Duration.seconds(3)

/** What ADC found: a checked credential JSON, or the metadata server. */
type Found =
  | { readonly _tag: "file"; readonly json: JsonCredentials; readonly origin: string }
  | { readonly _tag: "metadata"; readonly origin: string; readonly projectId: string | undefined }

const metadataOrigin = (): string => {
  const host = process.env["GCE_METADATA_IP"] || process.env["GCE_METADATA_HOST"]
  return host === undefined || host === "" ? "the metadata server" : `the metadata server at GCE_METADATA_HOST=${host}`
}

/** The ADC walk (see the module comment). Files are read and checked here. */
const find = (options: GoogleAuthSourceOptions): Effect.Effect<Found, DetectError> =>
  Effect.gen(function*() {
    const fromFile = (path: string, origin: string) =>
      readFile(path, origin).pipe(
        Effect.flatMap((json) => validate(json, origin)),
        Effect.map((json): Found => ({ _tag: "file", json, origin }))
      )
    if (options.credentials !== undefined) {
      const origin = "the `credentials` option"
      const json = yield* validate(options.credentials, origin)
      return { _tag: "file", json, origin } satisfies Found
    }
    if (options.keyFile !== undefined) {
      return yield* fromFile(options.keyFile, `the \`keyFile\` option (${options.keyFile})`)
    }
    const env = process.env["GOOGLE_APPLICATION_CREDENTIALS"]
    if (env !== undefined && env !== "") return yield* fromFile(env, `GOOGLE_APPLICATION_CREDENTIALS=${env}`)
    const wellKnown = wellKnownFile()
    if (wellKnown !== undefined) {
      return yield* fromFile(wellKnown, `gcloud's application_default_credentials.json (${wellKnown})`)
    }
    const detection = process.env["METADATA_SERVER_DETECTION"]?.trim().toLowerCase()
    if (detection === "none") {
      return yield* new CredentialsNotFound({
        reason: "NotFound",
        detail: "no credential file, and METADATA_SERVER_DETECTION=none rules out the metadata server"
      })
    }
    if (detection === "assume-present") {
      return { _tag: "metadata", origin: metadataOrigin(), projectId: undefined } satisfies Found
    }
    const projectId = yield* Metadata.probe(Duration.min(probeTimeout, options.detectTimeout))
    if (projectId === undefined) {
      return yield* new CredentialsNotFound({
        reason: "NotFound",
        detail: `no credential file and no metadata server answered within ${
          Duration.format(Duration.min(probeTimeout, options.detectTimeout))
        }`
      })
    }
    return { _tag: "metadata", origin: metadataOrigin(), projectId } satisfies Found
  })

/**
 * Resolves Application Default Credentials (see the module comment). Bounded by
 * `detectTimeout`.
 *
 * @internal
 */
export const detect = (
  options: GoogleAuthSourceOptions
): Effect.Effect<CredentialSource, DetectError> =>
  Effect.gen(function*() {
    const found = yield* find(options).pipe(
      Effect.timeoutFail({
        duration: options.detectTimeout,
        onTimeout: () =>
          new CredentialsNotFound({
            reason: "Timeout",
            detail: `gave up after ${Duration.format(options.detectTimeout)}`
          })
      })
    )
    return found._tag === "metadata"
      ? yield* metadataSource(found, options)
      : yield* Effect.flatMap(
        Effect.promise(() => import("./librarySource.js")),
        (library) => library.fileSource(found.json, found.origin, options)
      )
  })

/** The metadata server as a source: every request through our abortable client. */
const metadataSource = (
  found: Extract<Found, { readonly _tag: "metadata" }>,
  options: GoogleAuthSourceOptions
): Effect.Effect<CredentialSource> =>
  Effect.gen(function*() {
    const settings: Metadata.MetadataOptions = { timeout: options.requestTimeout }
    const principal = yield* Metadata.text("instance/service-accounts/default/email", options.detectTimeout)
    const projectId = options.projectId ?? found.projectId ??
      (yield* Metadata.text("project/project-id", options.detectTimeout))
    const identity: Identity = {
      source: "metadata",
      origin: found.origin,
      principal,
      projectId,
      quotaProject: undefined,
      idTokens: { audience: "requested" }
    }
    const fetchAccessToken = (scopes: ReadonlyArray<string>): Effect.Effect<AuthToken.AuthToken, AccessTokenError> =>
      Effect.gen(function*() {
        const { lifetimeMillis, token } = yield* Metadata.accessToken(scopes, settings)
        // expires_in is relative: anchor it to our clock, so a skewed clock does not matter.
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        return AuthToken.make("access", token, now + lifetimeMillis)
      }).pipe(
        Effect.withSpan("effect-adc/CredentialSource.fetchAccessToken", {
          attributes: { source: "metadata", scopes: scopes.join(" ") }
        })
      )
    const fetchIdToken = (audience: string): Effect.Effect<AuthToken.AuthToken, IdTokenError> =>
      Metadata.identity(audience, settings).pipe(
        Effect.flatMap((jwt) => idTokenOf(jwt, "metadata")),
        Effect.withSpan("effect-adc/CredentialSource.fetchIdToken", { attributes: { source: "metadata", audience } })
      )
    return { identity, fetchAccessToken, fetchIdToken, endpoints: { access: "metadata", id: "metadata" } }
  })
