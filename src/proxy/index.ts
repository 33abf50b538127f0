/**
 * The sidecar proxy that adds Google tokens to requests for configured upstreams.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ProxyConfig from "./ProxyConfig.js"
/** @since 0.1.0 */
export * as SigningProxy from "./SigningProxy.js"
/** @since 0.2.0 */
export * as ProxyProblem from "./ProxyProblem.js"
