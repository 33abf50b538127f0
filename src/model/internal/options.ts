/**
 * Options every backend shares.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ModelConfigError from "../ModelConfigError.js"
import type { BackendOptions } from "../ModelService.js"

/** @internal */
export type CommonOptions = BackendOptions

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]", "::1"])

/**
 * Access tokens only travel over https, except to loopback (emulators): a plain
 * `http://` URL to another host fails with ModelConfigError naming the setting.
 *
 * @internal
 */
export const requireHttps = (url: string, setting: string): Effect.Effect<void, ModelConfigError.ModelConfigError> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Effect.fail(
      new ModelConfigError.ModelConfigError({ variable: setting, reason: "Invalid", detail: "not a URL" })
    )
  }
  if (parsed.protocol === "https:") return Effect.void
  if (parsed.protocol === "http:" && (loopbackHosts.has(parsed.hostname) || parsed.hostname.startsWith("127."))) {
    return Effect.void
  }
  return Effect.fail(
    new ModelConfigError.ModelConfigError({
      variable: setting,
      reason: "Invalid",
      detail: `${parsed.protocol}//${parsed.host} is not https: a Google access token would cross the network in ` +
        `clear; use https (plain http is allowed only to loopback emulators)`
    })
  )
}

let warned = false

/**
 * Keyless means keyless: an API key in the environment is never sent; say so once.
 *
 * @internal
 */
export const warnAboutApiKeys = Effect.suspend(() => {
  const present = ["GOOGLE_API_KEY", "GEMINI_API_KEY"].filter((name) => (process.env[name] ?? "") !== "")
  if (warned || present.length === 0) return Effect.void
  warned = true
  return Effect.logWarning(
    `${present.join(" and ")} ${present.length > 1 ? "are" : "is"} set, but effect-adc never sends API keys: ` +
      `requests carry OAuth access tokens from Application Default Credentials. Unset the variable to silence this.`
  )
})

/** @internal */
export const trimSlash = (url: string) => url.replace(/\/+$/, "")

/**
 * `layerConfig` of every model module: options read through `Config`, a ConfigError
 * turned into ModelConfigError naming the variable.
 *
 * @internal
 */
export const fromConfig = <O, A, E, R>(
  options: Config.Config.Wrap<O>,
  layer: (options: O) => Layer.Layer<A, E, R>
): Layer.Layer<A, E | ModelConfigError.ModelConfigError, R> =>
  Layer.unwrapEffect(
    Config.unwrap(options).pipe(Effect.mapError(ModelConfigError.fromConfigError), Effect.map(layer))
  )
