/**
 * effect-adc: keyless Gemini and Cloud Run calls for Effect apps on Google Cloud.
 * The auth and HTTP core; models, the proxy and the adapters have their own entry points
 * (`effect-adc/model`, `effect-adc/proxy`, `effect-adc/genai`, …) so that importing the
 * core does not load an HTTP server or a client library.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AuthClient from "./auth/AuthClient.js"
/** @since 0.1.0 */
export * as AuthError from "./auth/AuthError.js"
/** @since 0.2.0 */
export * as AuthErrorSchema from "./auth/AuthErrorSchema.js"
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
export * as SigningFetch from "./http/SigningFetch.js"
