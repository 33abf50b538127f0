/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ModelError from "./ModelError.js"

/**
 * @since 0.1.0
 */
export * as ModelRequest from "./ModelRequest.js"

/**
 * @since 0.1.0
 */
export * as ModelResponse from "./ModelResponse.js"
