/**
 * The emulator's world: the project, its principals, keys, issued tokens,
 * the IAM token-creator table and the adjustable settings. Every server reads
 * and writes this one object.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import type { SigningKey } from "./keys.js"

/** gcloud's client id for `gcloud auth application-default login`. @internal */
export const GCLOUD_ADC_CLIENT_ID = "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com"

/** The scopes `gcloud auth application-default login` asks for. @internal */
export const GCLOUD_ADC_SCOPES: ReadonlyArray<string> = [
  "openid",
  "https://www.googleapis.com/auth/userinfo.email",
  "https://www.googleapis.com/auth/cloud-platform",
  "https://www.googleapis.com/auth/sqlservice.login"
]

/** @internal */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

/** @internal */
export const GOOGLE_ISSUER = "https://accounts.google.com"

/** @internal */
export interface Identity {
  readonly email: string
  /** 21-digit numeric id, the `sub` of its ID tokens */
  readonly uniqueId: string
}

/** @internal */
export interface AccessTokenRecord {
  readonly principal: string
  readonly scopes: ReadonlyArray<string>
  readonly expiresAtMs: number
  readonly issuedBy: "metadata" | "oauth" | "iam" | "sts"
}

/** @internal */
export interface WorkloadIdentity {
  readonly poolId: string
  readonly providerId: string
  /** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q` */
  readonly audience: string
  /** issuer of the subject tokens (the "external IdP") */
  readonly issuer: string
  readonly subject: string
  /** `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S` */
  readonly principal: string
  readonly key: SigningKey
}

/** @internal */
export interface Settings {
  tokenLifetimeSeconds: number
  metadataReuseWindowSeconds: number
  clockOffsetMs: number
}

/** @internal */
export interface State {
  readonly projectId: string
  readonly projectNumber: string
  readonly settings: Settings
  readonly now: () => number
  /** `[current, rotated]`: ID tokens are signed with the first, both are published */
  readonly googleKeys: Array<SigningKey>
  readonly serviceAccount: Identity & { readonly key: SigningKey }
  readonly impersonationTarget: Identity
  readonly user: Identity & { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string }
  readonly workload: WorkloadIdentity
  /** service accounts that exist in the project, by email */
  readonly serviceAccounts: Map<string, Identity>
  readonly accessTokens: Map<string, AccessTokenRecord>
  readonly revokedRefreshTokens: Set<string>
  /** `caller\u0000target` pairs allowed to mint tokens for `target` */
  readonly tokenCreators: Set<string>
  /** per scope-set key: the token the metadata server hands out again */
  readonly metadataTokens: Map<string, { readonly token: string; readonly expiresAtMs: number }>
}

/** Deterministic 21-digit unique id derived from an email. @internal */
export const uniqueIdFor = (email: string): string => {
  const digest = Crypto.createHash("sha256").update(email).digest()
  let digits = "1"
  for (let i = 0; digits.length < 21; i++) digits += String((digest[i % digest.length] ?? 0) % 10)
  return digits
}

/** @internal */
export const creatorKey = (caller: string, target: string): string => `${caller}\u0000${target}`

/** @internal */
export const makeState = (options: {
  readonly projectId: string
  readonly projectNumber: string
  readonly settings: Settings
  readonly googleKeys: Array<SigningKey>
  readonly serviceAccountKey: SigningKey
  readonly idpKey: SigningKey
}): State => {
  const { projectId, projectNumber, settings } = options
  const saEmail = `${projectNumber}-compute@developer.gserviceaccount.com`
  const targetEmail = `emulator-target@${projectId}.iam.gserviceaccount.com`
  const userEmail = "emulator-user@example.com"
  const serviceAccount = { email: saEmail, uniqueId: uniqueIdFor(saEmail), key: options.serviceAccountKey }
  const impersonationTarget = { email: targetEmail, uniqueId: uniqueIdFor(targetEmail) }
  const user = {
    email: userEmail,
    uniqueId: uniqueIdFor(userEmail),
    clientId: GCLOUD_ADC_CLIENT_ID,
    clientSecret: `emulator-secret-${Crypto.randomBytes(9).toString("base64url")}`,
    refreshToken: `1//0e${Crypto.randomBytes(48).toString("base64url")}`
  }
  const poolId = "emulator-pool"
  const providerId = "emulator-provider"
  const subject = "emulator-workload"
  const poolPath = `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`
  const workload: WorkloadIdentity = {
    poolId,
    providerId,
    audience: `//iam.googleapis.com/${poolPath}/providers/${providerId}`,
    issuer: "https://idp.emulator.invalid",
    subject,
    principal: `principal://iam.googleapis.com/${poolPath}/subject/${subject}`,
    key: options.idpKey
  }
  return {
    projectId,
    projectNumber,
    settings,
    now: () => Date.now() + settings.clockOffsetMs,
    googleKeys: options.googleKeys,
    serviceAccount,
    impersonationTarget,
    user,
    workload,
    serviceAccounts: new Map([
      [serviceAccount.email, { email: serviceAccount.email, uniqueId: serviceAccount.uniqueId }],
      [impersonationTarget.email, impersonationTarget]
    ]),
    accessTokens: new Map(),
    revokedRefreshTokens: new Set(),
    tokenCreators: new Set([
      creatorKey(userEmail, targetEmail),
      creatorKey(saEmail, targetEmail),
      creatorKey(workload.principal, targetEmail)
    ]),
    metadataTokens: new Map()
  }
}
