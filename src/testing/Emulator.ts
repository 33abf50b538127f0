/**
 * A local Google Cloud emulator for the identity side of ADC: a metadata
 * server, the OAuth token endpoint, IAM Credentials, STS, Google's signing
 * keys and a Cloud Run front door that verifies ID tokens, all on loopback and
 * speaking the real wire formats.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import { start as startInternal } from "./internal/emulator.js"

/**
 * Options of {@link start} and {@link layer}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface EmulatorOptions {
  /** default `"emulator-project"` */
  readonly projectId?: string
  /** default `"123456789012"` */
  readonly projectNumber?: string
  /** lifetime of every token the emulator issues; default 3600 */
  readonly tokenLifetimeSeconds?: number
  /**
   * the metadata server hands out the same access token (per scope set) until
   * this many seconds before its expiry, then mints a fresh one; default 300
   */
  readonly metadataReuseWindowSeconds?: number
  /** the emulator's clock is `Date.now() + clockOffsetMs`; default 0 */
  readonly clockOffsetMs?: number
  /**
   * what {@link EmulatorHandle.proxy} does with a `CONNECT` to any host other than
   * Google's auth hosts: refuse it (default: nothing leaves the machine), or tunnel
   * it untouched (`true`, for a shell whose every tool sees `HTTPS_PROXY`)
   */
  readonly proxyPassThrough?: boolean
}

/**
 * A call site the controls can slow down, break, count and log.
 *
 * @since 0.1.0
 * @category Models
 */
export type Endpoint =
  | "metadata.token"
  | "metadata.identity"
  | "metadata.other"
  | "oauth.token"
  | "oauth.tokeninfo"
  | "iam.generateAccessToken"
  | "iam.generateIdToken"
  | "sts.token"
  | "certs"
  | "googleapis.other"
  | `cloudrun:${string}`

/**
 * An injected failure: a status with a body, a 200 with a garbage body, a
 * request that never gets an answer (until the client gives up or the emulator
 * closes), or a socket closed without an answer.
 *
 * @since 0.1.0
 * @category Models
 */
export type Failure =
  | {
    readonly kind: "status"
    readonly status: number
    readonly body?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  | { readonly kind: "garbage" }
  | { readonly kind: "hang" }
  | { readonly kind: "close" }

/**
 * One line of the principal log: who called what. Never holds token values.
 *
 * @since 0.1.0
 * @category Models
 */
export interface LogEntry {
  /** emulator clock, ms */
  readonly at: number
  readonly endpoint: Endpoint
  /** email of a user or service account, or a `principal://` federated identity */
  readonly principal: string | undefined
  readonly detail?: string
}

/**
 * Knobs that apply to every endpoint of a running emulator.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Controls {
  setTokenLifetime(seconds: number): void
  setMetadataReuseWindow(seconds: number): void
  /** delay every call of `endpoint` by `ms` (0 removes the delay) */
  setLatency(endpoint: Endpoint, ms: number): void
  /** fail the next `times` calls of `endpoint` (default: every call until {@link Controls.clearFailures}) */
  fail(endpoint: Endpoint, failure: Failure, times?: number): void
  clearFailures(): void
  count(endpoint: Endpoint): number
  /**
   * sockets of requests held by a `hang` failure that are still open on the server side
   * (of `endpoint`, or of every endpoint): a client whose timeout aborts its request
   * brings this back to 0
   */
  hangingSockets(endpoint?: Endpoint): number
  counts(): Readonly<Record<string, number>>
  setClockOffset(ms: number): void
  /** the emulator clock in ms */
  now(): number
  readonly log: ReadonlyArray<LogEntry>
  /** let `caller` (an email or `principal://…`) mint tokens for the service account `target` */
  grantTokenCreator(caller: string, target: string): void
  revokeTokenCreator(caller: string, target: string): void
  /** make the token endpoint answer `invalid_grant` for this refresh token (default: the user's) */
  revokeRefreshToken(refreshToken?: string): void
  /**
   * generate a new Google signing key: it signs every ID token from now on, the
   * previous current key stays published, the oldest one is dropped; returns the new kid
   */
  rotateSigningKeys(): Promise<string>
  /** clear counters, log, failures and latency */
  reset(): void
}

/**
 * Options of {@link EmulatorHandle.credentials}' `writeImpersonated`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ImpersonatedFileOptions {
  /** the source credential inside the file; default `"authorized_user"` */
  readonly source?: "authorized_user" | "service_account"
  /** emails (or `projects/-/serviceAccounts/{email}`) of the delegation chain */
  readonly delegates?: ReadonlyArray<string>
}

/**
 * Options of {@link EmulatorHandle.credentials}' `writeExternalAccount`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ExternalAccountFileOptions {
  /** add `service_account_impersonation_url` for the impersonation target */
  readonly impersonate?: boolean
  /**
   * `"loopback"` (default): `token_url` and the impersonation URL point at the
   * emulator, so the file works without any seam. `"google"`: Google's real
   * URLs, as gcloud writes them; only safe with {@link EmulatorHandle.proxy}
   * (google-auth-library's STS client ignores `clientOptions`).
   */
  readonly endpoints?: "loopback" | "google"
}

/**
 * A service behind the Cloud Run front door.
 *
 * @since 0.1.0
 * @category Models
 */
export interface DeployOptions {
  readonly name: string
  readonly handler: Http.RequestListener
  /** custom audiences accepted besides the service URL */
  readonly audiences?: ReadonlyArray<string>
  /** emails allowed to invoke; default the emulator's service account, user and impersonation target */
  readonly invokers?: ReadonlyArray<string> | "allUsers"
  /**
   * the first `requests` (default 1) admitted requests wait `delayMs`, and/or get `status` while "scaling up";
   * with `afterIdleMs`, the service scales to zero after that long without a request, and the next ones are cold again
   */
  readonly coldStart?: {
    readonly delayMs?: number
    readonly status?: 429 | 503
    readonly requests?: number
    readonly afterIdleMs?: number
  }
  /**
   * capacity (max instances × concurrency, what GPU quota caps): past this many requests in
   * flight, Cloud Run answers 429 "The request was aborted because there was no available instance."
   */
  readonly maxInFlight?: number
  /**
   * the model server's own queue (Ollama's `OLLAMA_MAX_QUEUE`): past this many requests in
   * flight, the server answers 503 `{"error":"server busy, please try again.  maximum pending requests exceeded"}`
   */
  readonly serverQueue?: number
  /** the service's request timeout: an answer not finished within it ends with Cloud Run's 504 "upstream request timeout" */
  readonly requestTimeoutMs?: number
}

/**
 * A deployed service: its URL is also its ID-token audience.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloudRunService {
  readonly name: string
  readonly url: string
  close(): Promise<void>
}

/**
 * The emulator's workload identity pool and its external OIDC IdP.
 *
 * @since 0.1.0
 * @category Models
 */
export interface WorkloadIdentity {
  /** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/…/providers/…` */
  readonly audience: string
  readonly issuer: string
  readonly subject: string
  /** `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/…/subject/…` */
  readonly principal: string
  /** a subject token signed by the external IdP (valid unless the options make it otherwise) */
  mintSubjectToken(options?: {
    readonly subject?: string
    readonly audience?: string
    readonly lifetimeSeconds?: number
    readonly iatOffsetSeconds?: number
  }): string
}

/**
 * The emulator's forward proxy and local TLS authority.
 *
 * @since 0.1.0
 * @category Models
 */
export interface EmulatorProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** PEM of the self-signed authority that issues the emulated hosts' certificate */
  readonly caCertificate: string
  /** the same PEM in a file (for `NODE_EXTRA_CA_CERTS`) */
  readonly caFile: string
  /**
   * the public roots Node trusts plus the emulator's authority, for variables that
   * replace a tool's whole trust store (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`)
   */
  readonly caBundleFile: string
  /** `HTTPS_PROXY`, `https_proxy`, `NO_PROXY`, `no_proxy` (loopback), `NODE_EXTRA_CA_CERTS` */
  readonly env: Readonly<Record<string, string>>
  /** add the authority to this process's default CA list (`tls.setDefaultCACertificates`); returns the undo */
  trustInThisProcess(): () => void
}

/**
 * A running emulator.
 *
 * @since 0.1.0
 * @category Models
 */
export interface EmulatorHandle {
  readonly projectId: string
  readonly projectNumber: string
  /** `127.0.0.1:PORT`, the value for `GCE_METADATA_HOST` / `GCE_METADATA_IP` */
  readonly metadataHost: string
  /** `http://127.0.0.1:PORT` */
  readonly metadataUrl: string
  /** the server playing oauth2, iamcredentials, sts and www.googleapis.com/oauth2 */
  readonly googleApisUrl: string
  /**
   * rewrites `https://oauth2.googleapis.com`, `https://iamcredentials.googleapis.com`,
   * `https://sts.googleapis.com` and `https://www.googleapis.com/oauth2/…` to the
   * emulator, lets loopback through, rejects every other host with a `TypeError`
   */
  readonly fetch: typeof globalThis.fetch
  /**
   * for `new GoogleAuth({ clientOptions })` and clients' constructor options:
   * google-auth-library's own seam for its hard-coded Google hosts. A fresh
   * object on every read, because `GoogleAuth` writes `scopes` into the
   * `clientOptions` it is given. It does not reach every request: see
   * {@link EmulatorHandle.proxy}.
   */
  readonly clientOptions: { readonly transporterOptions: { readonly fetchImplementation: typeof globalThis.fetch } }
  /**
   * `GCE_METADATA_HOST`, `GCE_METADATA_IP`, `GCE_METADATA_ROOT` (gcloud, older
   * Python google-auth), `GOOGLE_CLOUD_PROJECT`,
   * `CLOUDSDK_CONFIG` and `HOME` (fresh empty directories), an empty
   * `GOOGLE_APPLICATION_CREDENTIALS` and `METADATA_SERVER_DETECTION=ping-only`
   */
  readonly env: Readonly<Record<string, string>>
  /** the "Cloud Run instance" service account (metadata server) and the key file's account */
  readonly serviceAccount: { readonly email: string; readonly uniqueId: string; readonly privateKeyId: string }
  /** the gcloud user of `authorized_user` credentials */
  readonly user: {
    readonly email: string
    readonly uniqueId: string
    readonly clientId: string
    readonly clientSecret: string
    readonly refreshToken: string
  }
  readonly impersonationTarget: { readonly email: string; readonly uniqueId: string }
  readonly workloadIdentity: WorkloadIdentity
  /**
   * The seam for clients that ignore {@link EmulatorHandle.clientOptions}:
   * google-auth-library builds the source client of an
   * `impersonated_service_account` ADC file, and the STS client of an
   * `external_account`, without the options it was given. Set `proxy.env`
   * (`HTTPS_PROXY`, `NO_PROXY` for loopback) and trust the emulator's local
   * authority (`trustInThisProcess()`, or `NODE_EXTRA_CA_CERTS` for a child
   * process): CONNECTs to Google's auth hosts are then answered by the
   * emulator, every other CONNECT is refused.
   */
  readonly proxy: EmulatorProxy
  /** `https://accounts.google.com` */
  readonly issuer: string
  /** loopback URL of the JWKS (`https://www.googleapis.com/oauth2/v3/certs`) */
  readonly jwksUrl: string
  /** credential files in a temp directory removed on close; each call returns a new path */
  readonly credentials: {
    writeServiceAccountKey(): Promise<string>
    writeAuthorizedUser(): Promise<string>
    writeImpersonated(options?: ImpersonatedFileOptions): Promise<string>
    writeExternalAccount(options?: ExternalAccountFileOptions): Promise<string>
  }
  readonly cloudRun: { deploy(options: DeployOptions): Promise<CloudRunService> }
  readonly controls: Controls
  /** close every server and socket (hung requests included) and remove the temp directory */
  close(): Promise<void>
}

/**
 * Start an emulator: fresh RSA keys, loopback servers on OS-chosen ports.
 *
 * @example
 * ```ts
 * import { Emulator } from "effect-adc/testing"
 * import { GoogleAuth } from "google-auth-library"
 *
 * const emulator = await Emulator.start()
 * Object.assign(process.env, emulator.env)
 * const auth = new GoogleAuth({ clientOptions: emulator.clientOptions })
 * const token = await auth.getAccessToken()
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const start: (options?: EmulatorOptions) => Promise<EmulatorHandle> = startInternal

/**
 * The running emulator as a service.
 *
 * @since 0.1.0
 * @category Tags
 */
export class Emulator extends Context.Tag("effect-adc/testing/Emulator")<Emulator, EmulatorHandle>() {}

/**
 * Start an emulator for the lifetime of the current scope. A failure to start
 * (no loopback) is a defect.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options?: EmulatorOptions): Effect.Effect<EmulatorHandle, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => start(options)),
    (handle) => Effect.promise(() => handle.close())
  )

/**
 * A scoped layer: the emulator starts when the layer is built and closes with
 * its scope.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options?: EmulatorOptions): Layer.Layer<Emulator> => Layer.scoped(Emulator, make(options))
