/**
 * A credential file as a source, over google-auth-library's client for its type
 * (service account key, gcloud user, impersonation, workload / workforce identity
 * federation). ADC's walk (`googleAuthSource.ts`) loads this module with a dynamic
 * `import()` only when it found a file, so a process on the metadata server (Cloud Run,
 * GCE, GKE) never loads google-auth-library (about 75 modules and 70–100 ms of start-up;
 * docs/performance.md, start-up).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import {
  type AuthClient,
  AwsClient,
  BaseExternalAccountClient,
  ExternalAccountAuthorizedUserClient,
  type ExternalAccountClientOptions,
  IdentityPoolClient,
  Impersonated,
  JWT,
  PluggableAuthClient,
  UserRefreshClient
} from "google-auth-library"
import { createRequire } from "node:module"
import {
  type AccessTokenError,
  CredentialsInvalid,
  type DetectError,
  type IdTokenError,
  IdTokenUnsupported,
  type TokenEndpoint,
  TokenEndpointUnreachable,
  TokenResponseInvalid
} from "../AuthError.js"
import * as AuthToken from "../AuthToken.js"
import type { CredentialSource, Identity, SourceKind } from "../CredentialSource.js"
import { cloudPlatformScope } from "../TokenTarget.js"
import { gcloudProject, type JsonCredentials } from "./credentialFile.js"
import type { GoogleAuthSourceOptions } from "./googleAuthSource.js"
import { fromLibraryError, scrubDetail } from "./googleErrors.js"
import { idTokenOf } from "./jwt.js"

/** Makes google-auth-library fetch on every call: the cache above decides when. */
const alwaysRefresh = { eagerRefreshThresholdMillis: Number.MAX_SAFE_INTEGER, forceRefreshOnFailure: true }

/**
 * google-auth-library warns that the `Impersonated` constructor and
 * `ExternalAccountClient.fromJSON` do not validate the configuration. We validated it
 * (credentialFile.ts), so we run them the way the library's own ADC walk does, inside
 * its `suppressAdcWarning` (not in its typings, hence the lookup; without it the call
 * simply runs).
 */
const suppressAdcWarning: <A>(f: () => A) => A = (() => {
  try {
    const util: unknown = createRequire(import.meta.url)("google-auth-library/build/src/util.js")
    const suppress = typeof util === "object" && util !== null
      ? (util as { readonly suppressAdcWarning?: unknown }).suppressAdcWarning
      : undefined
    if (typeof suppress === "function") return <A>(f: () => A): A => suppress(f) as A
  } catch {
    // fall through
  }
  return <A>(f: () => A): A => f()
})()

const stringField = (json: JsonCredentials | null | undefined, field: string): string | undefined =>
  json !== null && json !== undefined && typeof json[field] === "string" ? json[field] : undefined

const kindOfType = (type: unknown): SourceKind => {
  switch (type) {
    case "service_account":
    case "authorized_user":
    case "external_account":
    case "external_account_authorized_user":
      return type
    case "impersonated_service_account":
      return "impersonated"
    default:
      return "other"
  }
}

const endpointOf = (kind: SourceKind): TokenEndpoint => {
  switch (kind) {
    case "metadata":
      return "metadata"
    case "impersonated":
      return "iam"
    case "external_account":
    case "external_account_authorized_user":
      return "sts"
    default:
      return "oauth"
  }
}

/** The service account named in an IAM Credentials impersonation URL. */
const emailFromImpersonationUrl = (url: string | undefined): string | undefined => {
  const match = url === undefined ? null : /serviceAccounts\/([^/:]+):generate(?:Access|Id)Token/.exec(url)
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
}

/**
 * A google-auth-library client for a checked credential JSON, through each type's own
 * constructor (never the deprecated `GoogleAuth` options or `fromJSON`).
 */
const clientFromJson = (
  json: JsonCredentials,
  scopes: ReadonlyArray<string>,
  options: GoogleAuthSourceOptions,
  origin: string
): Effect.Effect<AuthClient, CredentialsInvalid> =>
  Effect.try({
    try: (): AuthClient => {
      const common = { ...options.clientOptions, ...alwaysRefresh }
      switch (json["type"]) {
        case "service_account": {
          const client = new JWT({ ...common, scopes: [...scopes] })
          client.fromJSON(json)
          return client
        }
        case "authorized_user": {
          const client = new UserRefreshClient(common)
          client.fromJSON(json)
          return client
        }
        case "external_account": {
          const config = { ...json, ...common } as unknown as ExternalAccountClientOptions
          const source = json["credential_source"] as Record<string, unknown> | undefined
          const client = source?.["environment_id"] !== undefined
            ? new AwsClient(config as ConstructorParameters<typeof AwsClient>[0])
            : source?.["executable"] !== undefined
            ? new PluggableAuthClient(config as ConstructorParameters<typeof PluggableAuthClient>[0])
            : new IdentityPoolClient(config as ConstructorParameters<typeof IdentityPoolClient>[0])
          client.scopes = [...scopes]
          return client
        }
        case "external_account_authorized_user":
          return new ExternalAccountAuthorizedUserClient(
            { ...json, ...common } as unknown as ConstructorParameters<typeof ExternalAccountAuthorizedUserClient>[0]
          )
        default:
          throw new Error(`the credential type ${JSON.stringify(json["type"])} is not supported here`)
      }
    },
    catch: (e) =>
      new CredentialsInvalid({ source: origin, detail: scrubDetail(e instanceof Error ? e.message : String(e)) })
  })

/** An impersonated client from a checked `impersonated_service_account` JSON. */
const impersonatedClient = (
  json: JsonCredentials,
  scopes: ReadonlyArray<string>,
  options: GoogleAuthSourceOptions,
  origin: string
): Effect.Effect<Impersonated, CredentialsInvalid> =>
  Effect.gen(function*() {
    const sourceClient = yield* clientFromJson(
      json["source_credentials"] as JsonCredentials,
      [cloudPlatformScope],
      options,
      origin
    )
    const target = emailFromImpersonationUrl(stringField(json, "service_account_impersonation_url")) ?? ""
    const delegates = Array.isArray(json["delegates"]) ? json["delegates"].filter((d) => typeof d === "string") : []
    return suppressAdcWarning(() =>
      new Impersonated({
        ...options.clientOptions,
        ...alwaysRefresh,
        sourceClient,
        targetPrincipal: target,
        delegates,
        targetScopes: [...scopes]
      })
    )
  })

const clientFor = (
  json: JsonCredentials,
  scopes: ReadonlyArray<string>,
  options: GoogleAuthSourceOptions,
  origin: string
): Effect.Effect<AuthClient, CredentialsInvalid> =>
  json["type"] === "impersonated_service_account"
    ? impersonatedClient(json, scopes, options, origin)
    : clientFromJson(json, scopes, options, origin)

/**
 * The project, in google-auth-library's order: the option, the environment, the
 * credential file, gcloud's active configuration (read from its files, never by running
 * gcloud), then the file's quota project.
 */
const projectOf = (options: GoogleAuthSourceOptions, json: JsonCredentials | null): string | undefined =>
  options.projectId ??
    (process.env["GOOGLE_CLOUD_PROJECT"] || process.env["GCLOUD_PROJECT"] || undefined) ??
    stringField(json, "project_id") ??
    gcloudProject() ??
    stringField(json, "quota_project_id")

const promise = <A, E>(
  thunk: () => Promise<A>,
  onError: (error: unknown) => E,
  timeout: Duration.Duration,
  onTimeout: () => E
): Effect.Effect<A, E> =>
  Effect.tryPromise({ try: thunk, catch: onError }).pipe(
    Effect.timeoutFail({ duration: timeout, onTimeout })
  )

/**
 * A credential file (already checked) as a source, over google-auth-library's client for its type.
 *
 * @internal
 */
export const fileSource = (
  json: JsonCredentials,
  origin: string,
  options: GoogleAuthSourceOptions
): Effect.Effect<CredentialSource, DetectError> =>
  Effect.gen(function*() {
    const kind = kindOfType(json["type"])
    const client = yield* clientFor(json, [cloudPlatformScope], options, origin)
    const endpoint = endpointOf(kind)
    const principal = principalOf(client, kind, json)
    const identity: Identity = {
      source: kind,
      origin,
      principal,
      projectId: projectOf(options, json),
      quotaProject: client.quotaProjectId ?? stringField(json, "quota_project_id"),
      idTokens: idTokenSupport(kind, client, json)
    }

    const request = <A>(
      thunk: () => Promise<A>,
      at: TokenEndpoint = endpoint
    ): Effect.Effect<A, AccessTokenError> =>
      promise(
        thunk,
        (e) => fromLibraryError(at, e),
        options.requestTimeout,
        () =>
          new TokenEndpointUnreachable({
            endpoint: at,
            reason: "Timeout",
            detail: `no answer within ${Duration.format(options.requestTimeout)}`
          })
      )

    /** One client per scope set, built from the same checked JSON. */
    const clients = new Map<string, AuthClient>()
    const scopedClient = (scopes: ReadonlyArray<string>): Effect.Effect<AuthClient, AccessTokenError> => {
      const key = scopes.join(" ")
      if (key === cloudPlatformScope) return Effect.succeed(client)
      const found = clients.get(key)
      if (found !== undefined) return Effect.succeed(found)
      return clientFor(json, scopes, options, origin).pipe(
        Effect.tap((built) => Effect.sync(() => clients.set(key, built))),
        Effect.mapError((e) => new TokenResponseInvalid({ endpoint, detail: e.detail }))
      )
    }

    const fetchAccessToken = (scopes: ReadonlyArray<string>): Effect.Effect<AuthToken.AuthToken, AccessTokenError> =>
      Effect.gen(function*() {
        const scoped = yield* scopedClient(scopes)
        const { expiry, receivedAt, token } = yield* request(async () => {
          const response = await scoped.getAccessToken()
          return { token: response.token, expiry: scoped.credentials.expiry_date, receivedAt: Date.now() }
        })
        if (typeof token !== "string" || token === "") {
          return yield* new TokenResponseInvalid({ endpoint, detail: "no access_token in the response" })
        }
        if (typeof expiry !== "number") {
          return yield* new TokenResponseInvalid({ endpoint, detail: "the response has no expiry" })
        }
        // The library dates the expiry by the wall clock at receipt; re-anchor it to ours.
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        return AuthToken.make("access", token, now + (expiry - receivedAt))
      }).pipe(
        Effect.withSpan("effect-adc/CredentialSource.fetchAccessToken", {
          attributes: { source: kind, scopes: scopes.join(" ") }
        })
      )

    const idTokenFetch = idTokenFetcher(client, kind, json, options, request)
    const fetchIdToken = (audience: string): Effect.Effect<AuthToken.AuthToken, IdTokenError> =>
      idTokenFetch(audience).pipe(
        Effect.flatMap((jwt) => idTokenOf(jwt, kind === "external_account" ? "iam" : endpoint)),
        Effect.withSpan("effect-adc/CredentialSource.fetchIdToken", { attributes: { source: kind, audience } })
      )

    return {
      identity,
      fetchAccessToken,
      fetchIdToken,
      endpoints: { access: endpoint, id: kind === "external_account" ? "iam" : endpoint }
    } satisfies CredentialSource
  })

const principalOf = (client: AuthClient, kind: SourceKind, json: JsonCredentials): string | undefined => {
  switch (kind) {
    case "service_account":
      return (client as JWT).email ?? stringField(json, "client_email")
    case "impersonated":
      return emailFromImpersonationUrl(stringField(json, "service_account_impersonation_url"))
    case "external_account":
      return (client as BaseExternalAccountClient).getServiceAccountEmail() ?? undefined
    default:
      return stringField(json, "account") ?? undefined
  }
}

const idTokenSupport = (kind: SourceKind, client: AuthClient, json: JsonCredentials | null): Identity["idTokens"] => {
  switch (kind) {
    case "authorized_user":
      return {
        audience: "oauth-client",
        clientId: (client as UserRefreshClient)._clientId ?? stringField(json, "client_id") ?? "unknown"
      }
    case "external_account":
      return (client as BaseExternalAccountClient).getServiceAccountEmail() === null
        ? {
          audience: "unsupported",
          reason: "workload identity federation without service account impersonation has no identity " +
            "Google can sign an ID token for. Add service_account_impersonation_url to the credential " +
            "(gcloud iam workload-identity-pools create-cred-config --service-account=SA_EMAIL) and grant " +
            "the federated principal roles/iam.serviceAccountTokenCreator on it."
        }
        : { audience: "requested" }
    case "external_account_authorized_user":
      return {
        audience: "unsupported",
        reason: "workforce identity federation user credentials cannot mint ID tokens. Impersonate a service " +
          "account instead (gcloud auth application-default login --impersonate-service-account=SA_EMAIL)."
      }
    case "other":
      return { audience: "unsupported", reason: "this credential type has no ID token flow in google-auth-library." }
    default:
      return { audience: "requested" }
  }
}

type Request = <A>(thunk: () => Promise<A>, at?: TokenEndpoint) => Effect.Effect<A, AccessTokenError>

const idTokenFetcher = (
  client: AuthClient,
  kind: SourceKind,
  json: JsonCredentials | null,
  options: GoogleAuthSourceOptions,
  request: Request
): (audience: string) => Effect.Effect<string, IdTokenError> => {
  const support = idTokenSupport(kind, client, json)
  if (support.audience === "unsupported") {
    return () => Effect.fail(new IdTokenUnsupported({ credentialType: kind, detail: support.reason }))
  }
  switch (kind) {
    case "service_account":
      return (audience) => request(() => (client as JWT).fetchIdToken(audience))
    case "authorized_user":
      return (audience) => request(() => (client as UserRefreshClient).fetchIdToken(audience))
    case "impersonated":
      return (audience) => request(() => (client as Impersonated).fetchIdToken(audience, { includeEmail: true }))
    case "external_account": {
      // generateIdToken for the impersonated service account, called with the federated
      // (STS) access token: a second client from the same JSON without impersonation.
      const target = (client as BaseExternalAccountClient).getServiceAccountEmail() ?? ""
      let impersonated: Impersonated | undefined
      const make = () => {
        if (impersonated === undefined) {
          const { service_account_impersonation_url: _dropped, ...federatedJson } = json ?? {}
          const federated = clientFromJson(
            federatedJson,
            [cloudPlatformScope],
            options,
            "the external_account credential"
          )
            .pipe(Effect.runSync)
          impersonated = suppressAdcWarning(() =>
            new Impersonated({
              ...options.clientOptions,
              sourceClient: federated,
              targetPrincipal: target,
              targetScopes: [cloudPlatformScope]
            })
          )
        }
        return impersonated
      }
      return (audience) => request(() => make().fetchIdToken(audience, { includeEmail: true }), "iam")
    }
    default:
      return () =>
        Effect.fail(new IdTokenUnsupported({ credentialType: kind, detail: "no ID token flow for this credential" }))
  }
}
