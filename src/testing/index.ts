/**
 * `effect-adc/testing`: a local Google Cloud emulator for tests and demos.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Emulator from "./Emulator.js"

/**
 * @since 0.1.0
 */
export * as Loopback from "./Loopback.js"

/**
 * @since 0.1.0
 */
export * as ModelEmulators from "./ModelEmulators.js"
