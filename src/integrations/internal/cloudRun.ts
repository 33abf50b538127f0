/**
 * The signing `fetch` every Cloud Run integration hands its client: an ID token for
 * the service's origin, nothing anywhere else.
 *
 * @internal
 */
import type { IdTarget } from "../../auth/TokenTarget.js"
import * as SigningFetch from "../../http/SigningFetch.js"
import { stripBearer } from "../../internal/bearer.js"

/** @internal */
export interface CloudRunOptions {
  readonly audience?: string | undefined
  readonly header?: IdTarget["header"]
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** @internal */
export const idTokenFetch = (
  auth: SigningFetch.Signer,
  serviceUrl: string | URL,
  options: CloudRunOptions
): typeof globalThis.fetch => {
  const origin = new URL(serviceUrl).origin
  return SigningFetch.make(auth, {
    targets: { [origin]: { kind: "id", audience: options.audience ?? origin, header: options.header } },
    fetch: options.fetch
  })
}

/** @internal */
export const bearerValue = (headers: Readonly<Record<string, string>>): string => {
  const value = headers["authorization"] ?? headers["x-serverless-authorization"] ?? ""
  return stripBearer(value)
}
