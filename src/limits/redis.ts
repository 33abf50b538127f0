/**
 * `effect-adc/limits/redis`: ModelLimits shared by every replica through Redis. Its own
 * entry point, because it needs the optional peers `@effect/experimental` and `ioredis`
 * (the rest of effect-adc never imports them).
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 */
export * as ModelLimitsRedis from "../model/ModelLimitsRedis.js"
