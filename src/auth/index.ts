/**
 * Application Default Credentials for Effect: access tokens and ID tokens, cached and
 * refreshed in the background.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AuthClient from "./AuthClient.js"
/** @since 0.1.0 */
export * as AuthError from "./AuthError.js"
/** @since 0.1.0 */
export * as AuthService from "./AuthService.js"
/** @since 0.1.0 */
export * as AuthToken from "./AuthToken.js"
/** @since 0.1.0 */
export * as CredentialSource from "./CredentialSource.js"
/** @since 0.1.0 */
export * as TokenCache from "./TokenCache.js"
/** @since 0.1.0 */
export * as TokenTarget from "./TokenTarget.js"
