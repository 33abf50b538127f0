/** @internal */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  type AuthClient,
  BaseExternalAccountClient,
  Compute,
  ExternalAccountAuthorizedUserClient,
  ExternalAccountClient,
  type ExternalAccountClientOptions,
  gcpMetadata,
  GoogleAuth,
  type GoogleAuthOptions,
  Impersonated,
  JWT,
  UserRefreshClient
} from "google-auth-library"
import {
  type AccessTokenError,
  CredentialsInvalid,
  CredentialsNotFound,
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
import { fromLibraryError, scrub } from "./googleErrors.js"
import { expiryMillis } from "./jwt.js"

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

/** Makes google-auth-library fetch on every call: the cache above decides when. */
const alwaysRefresh = { eagerRefreshThresholdMillis: Number.MAX_SAFE_INTEGER, forceRefreshOnFailure: true }

type JsonCredentials = Record<string, unknown>

const stringField = (json: JsonCredentials | null | undefined, field: string): string | undefined =>
  json !== null && json !== undefined && typeof json[field] === "string" ? json[field] : undefined

const kindOf = (client: AuthClient): SourceKind => {
  if (client instanceof Compute) return "metadata"
  if (client instanceof Impersonated) return "impersonated"
  if (client instanceof UserRefreshClient) return "authorized_user"
  if (client instanceof JWT) return "service_account"
  if (client instanceof BaseExternalAccountClient) return "external_account"
  if (client instanceof ExternalAccountAuthorizedUserClient) return "external_account_authorized_user"
  return "other"
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
  const match = url === undefined ? null : /serviceAccounts\/([^/:]+):generateAccessToken/.exec(url)
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
}

const originOf = (options: GoogleAuthSourceOptions, kind: SourceKind): string => {
  if (options.credentials !== undefined) return "the `credentials` option"
  if (options.keyFile !== undefined) return `the \`keyFile\` option (${options.keyFile})`
  if (kind === "metadata") {
    const host = process.env["GCE_METADATA_HOST"] ?? process.env["GCE_METADATA_IP"]
    return host === undefined ? "the metadata server" : `the metadata server at GCE_METADATA_HOST=${host}`
  }
  const env = process.env["GOOGLE_APPLICATION_CREDENTIALS"]
  return env !== undefined && env !== ""
    ? `GOOGLE_APPLICATION_CREDENTIALS=${env}`
    : "gcloud's application_default_credentials.json"
}

const detectionError = (options: GoogleAuthSourceOptions, error: unknown): DetectError => {
  const message = scrub(error instanceof Error ? error.message : String(error))
  if (/Could not load the default credentials/i.test(message)) {
    return new CredentialsNotFound({ reason: "NotFound", detail: "no credential file and no metadata server" })
  }
  const source = options.credentials !== undefined
    ? "the `credentials` option"
    : options.keyFile ?? process.env["GOOGLE_APPLICATION_CREDENTIALS"] ?? "the well-known gcloud file"
  return new CredentialsInvalid({ source, detail: message })
}

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
 * Resolves Application Default Credentials with google-auth-library and wraps the
 * client it found. Bounded by `detectTimeout`.
 *
 * @internal
 */
export const detect = (options: GoogleAuthSourceOptions): Effect.Effect<CredentialSource, DetectError> =>
  Effect.gen(function*() {
    const baseOptions: GoogleAuthOptions = {
      scopes: [cloudPlatformScope],
      ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
      ...(options.keyFile === undefined ? {} : { keyFilename: options.keyFile }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      clientOptions: { ...options.clientOptions, ...alwaysRefresh }
    }
    const detectTimeout = (): DetectError =>
      new CredentialsNotFound({ reason: "Timeout", detail: `gave up after ${Duration.format(options.detectTimeout)}` })
    const auth = new GoogleAuth(baseOptions)
    const detected = yield* promise(
      () => auth.getClient(),
      (e) => detectionError(options, e),
      options.detectTimeout,
      detectTimeout
    )
    const kind = kindOf(detected)
    const json = auth.jsonContent as JsonCredentials | null
    const impersonatedFor = (scopes: ReadonlyArray<string>) => impersonatedClient(json ?? {}, scopes, options)
    const client = kind === "impersonated" ? yield* impersonatedFor([cloudPlatformScope]) : detected
    const endpoint = endpointOf(kind)
    const projectId = options.projectId ?? (yield* promise(
      () => auth.getProjectId(),
      () => undefined,
      options.detectTimeout,
      () => undefined
    ).pipe(Effect.orElseSucceed(() => undefined)))
    const principal = yield* principalOf(client, kind, json, options)
    const identity: Identity = {
      source: kind,
      origin: originOf(options, kind),
      principal,
      projectId,
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

    /** One client per scope set, built from the credential ADC found. */
    const clients = new Map<string, Promise<AuthClient>>()
    const clientFor = (scopes: ReadonlyArray<string>): Promise<AuthClient> => {
      const key = scopes.join(" ")
      if (key === cloudPlatformScope) return Promise.resolve(client)
      let found = clients.get(key)
      if (found === undefined) {
        found = kind === "metadata"
          ? Promise.resolve(new Compute({ ...options.clientOptions, ...alwaysRefresh, scopes: [...scopes] }))
          : kind === "impersonated"
          ? Effect.runPromise(impersonatedFor(scopes))
          : new GoogleAuth({ ...baseOptions, scopes: [...scopes], ...(json === null ? {} : { credentials: json }) })
            .getClient()
        clients.set(key, found)
      }
      return found
    }

    const fetchAccessToken = (scopes: ReadonlyArray<string>): Effect.Effect<AuthToken.AuthToken, AccessTokenError> =>
      request(async () => {
        const scoped = await clientFor(scopes)
        const response = await scoped.getAccessToken()
        return { token: response.token, expiry: scoped.credentials.expiry_date }
      }).pipe(
        Effect.flatMap(({ expiry, token }) =>
          typeof token !== "string" || token === ""
            ? Effect.fail(new TokenResponseInvalid({ endpoint, detail: "no access_token in the response" }))
            : typeof expiry !== "number"
            ? Effect.fail(new TokenResponseInvalid({ endpoint, detail: "the response has no expiry" }))
            : Effect.succeed(AuthToken.make("access", token, expiry))
        ),
        Effect.withSpan("effect-adc/CredentialSource.fetchAccessToken", {
          attributes: { source: kind, scopes: scopes.join(" ") }
        })
      )

    const idTokenFetch = idTokenFetcher(client, kind, json, options, request)
    const fetchIdToken = (audience: string): Effect.Effect<AuthToken.AuthToken, IdTokenError> =>
      idTokenFetch(audience).pipe(
        Effect.flatMap((jwt) =>
          Option.match(expiryMillis(jwt), {
            onNone: () =>
              Effect.fail(new TokenResponseInvalid({ endpoint, detail: "the ID token is not a JWT with an exp claim" })),
            onSome: (expiresAt) => Effect.succeed(AuthToken.make("id", jwt, expiresAt))
          })
        ),
        Effect.withSpan("effect-adc/CredentialSource.fetchIdToken", { attributes: { source: kind, audience } })
      )

    return { identity, fetchAccessToken, fetchIdToken } satisfies CredentialSource
  })

/**
 * An impersonated client built from an `impersonated_service_account` JSON. We build it
 * ourselves because google-auth-library's `fromImpersonatedJSON` drops the client
 * options (transporter, proxy) for both the source and the impersonated client.
 */
const impersonatedClient = (
  json: JsonCredentials,
  scopes: ReadonlyArray<string>,
  options: GoogleAuthSourceOptions
): Effect.Effect<Impersonated, DetectError> =>
  Effect.gen(function*() {
    const source = json["source_credentials"]
    const target = emailFromImpersonationUrl(stringField(json, "service_account_impersonation_url"))
    if (typeof source !== "object" || source === null || target === undefined) {
      return yield* new CredentialsInvalid({
        source: "the impersonated_service_account credential",
        detail: "it needs source_credentials and a service_account_impersonation_url naming the service account"
      })
    }
    const sourceClient = yield* promise(
      () =>
        new GoogleAuth({
          credentials: source as JsonCredentials,
          scopes: [cloudPlatformScope],
          ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions })
        }).getClient(),
      (e) => detectionError(options, e),
      options.detectTimeout,
      () => new CredentialsNotFound({ reason: "Timeout", detail: "loading the impersonation source credential" })
    )
    const delegates = Array.isArray(json["delegates"]) ? json["delegates"].filter((d) => typeof d === "string") : []
    return new Impersonated({
      ...options.clientOptions,
      ...alwaysRefresh,
      sourceClient,
      targetPrincipal: target,
      delegates,
      targetScopes: [...scopes]
    })
  })

const principalOf = (
  client: AuthClient,
  kind: SourceKind,
  json: JsonCredentials | null,
  options: GoogleAuthSourceOptions
): Effect.Effect<string | undefined> => {
  switch (kind) {
    case "metadata":
      return Effect.tryPromise(() => gcpMetadata.instance<string>("service-accounts/default/email")).pipe(
        Effect.timeout(options.detectTimeout),
        Effect.map((email) => (typeof email === "string" && email !== "" ? email : undefined)),
        Effect.orElseSucceed(() => undefined)
      )
    case "service_account":
      return Effect.succeed((client as JWT).email ?? stringField(json, "client_email"))
    case "impersonated":
      return Effect.succeed(emailFromImpersonationUrl(stringField(json, "service_account_impersonation_url")))
    case "external_account":
      return Effect.succeed((client as BaseExternalAccountClient).getServiceAccountEmail() ?? undefined)
    default:
      return Effect.succeed(stringField(json, "account") ?? undefined)
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
    case "metadata":
      // google-auth-library pastes the audience into the URL unencoded; pass it as a
      // query parameter so gaxios encodes it.
      return (audience) =>
        request(() =>
          gcpMetadata.instance<string>({
            property: "service-accounts/default/identity",
            params: { audience, format: "full" }
          })
        )
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
          const federated = ExternalAccountClient.fromJSON({
            ...(federatedJson as unknown as ExternalAccountClientOptions),
            ...options.clientOptions,
            ...alwaysRefresh
          })
          if (federated === null) throw new Error("the external_account credential could not be loaded")
          impersonated = new Impersonated({
            ...options.clientOptions,
            sourceClient: federated,
            targetPrincipal: target,
            targetScopes: [cloudPlatformScope]
          })
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

