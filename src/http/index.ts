/**
 * Signing HTTP requests with Google tokens from AuthService.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AuthHttpClient from "./AuthHttpClient.js"
/** @since 0.1.0 */
export * as SigningFetch from "./SigningFetch.js"
