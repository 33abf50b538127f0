/**
 * effect-adc: keyless Gemini and Cloud Run calls for Effect apps on Google Cloud.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AuthClient from "./auth/AuthClient.js"
/** @since 0.1.0 */
export * as AuthError from "./auth/AuthError.js"
/** @since 0.1.0 */
export * as AuthService from "./auth/AuthService.js"
/** @since 0.1.0 */
export * as AuthToken from "./auth/AuthToken.js"
/** @since 0.1.0 */
export * as CredentialSource from "./auth/CredentialSource.js"
/** @since 0.1.0 */
export * as TokenCache from "./auth/TokenCache.js"
/** @since 0.1.0 */
export * as TokenTarget from "./auth/TokenTarget.js"
/** @since 0.1.0 */
export * as AuthHttpClient from "./http/AuthHttpClient.js"
/** @since 0.1.0 */
export * as ProxyConfig from "./proxy/ProxyConfig.js"
/** @since 0.1.0 */
export * as SigningProxy from "./proxy/SigningProxy.js"
/** @since 0.1.0 */
export * as SigningFetch from "./http/SigningFetch.js"
