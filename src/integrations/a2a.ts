/**
 * `@a2a-js/sdk` clients on an agent on private Cloud Run: one `fetchImpl` for the
 * card resolver and every transport factory, signing requests to the agent's origin
 * with a Google-signed ID token and nothing else (a card or transport URL on another
 * origin goes out unsigned).
 *
 * @example
 * ```ts
 * import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } from "@a2a-js/sdk/client"
 * import { AuthClient } from "effect-adc/auth"
 * import * as A2A from "effect-adc/a2a"
 *
 * const auth = AuthClient.make()
 * const agentUrl = "https://agent-abc-uc.a.run.app"
 * const fetchImpl = A2A.fetchImpl(auth, agentUrl)
 * const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
 *   transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
 *   cardResolver: new DefaultAgentCardResolver({ fetchImpl })
 * }))
 * const client = await factory.createFromUrl(agentUrl)
 * ```
 *
 * @since 0.1.0
 */
import type { IdTarget } from "../auth/TokenTarget.js"
import type * as SigningFetch from "../http/SigningFetch.js"
import { idTokenFetch } from "./internal/cloudRun.js"

/**
 * Options of {@link fetchImpl}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The ID token's audience when the service uses a custom audience. Default: the agent URL's origin. */
  readonly audience?: string | undefined
  /** `X-Serverless-Authorization` leaves `Authorization` to the agent's own security scheme. Default `Authorization`. */
  readonly header?: IdTarget["header"]
  /** The `fetch` underneath. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * The `fetchImpl` for `DefaultAgentCardResolver`, `JsonRpcTransportFactory` and
 * `RestTransportFactory`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fetchImpl = (
  auth: SigningFetch.Signer,
  agentUrl: string | URL,
  options: Options = {}
): typeof globalThis.fetch => idTokenFetch(auth, agentUrl, options)
