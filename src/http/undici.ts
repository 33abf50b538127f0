/**
 * The `HttpClient` every Node setup in the docs uses: `UndiciHttpClient`, on undici
 * (needs `@effect/platform-node`, which is why it has an entry point of its own).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as UndiciHttpClient from "./UndiciHttpClient.js"
