/**
 * The `ollama` client on Ollama on private Cloud Run (Gemma): its `fetch` option signs
 * every request with a Google-signed ID token for the service, refreshed in the
 * background, and replays once when a token is rejected.
 *
 * @example
 * ```ts
 * import { Ollama } from "ollama"
 * import { AuthClient } from "effect-adc/auth"
 * import * as OllamaAuth from "effect-adc/ollama"
 *
 * const auth = AuthClient.make()
 * const ollama = new Ollama(OllamaAuth.config(auth, "https://gemma-abc-uc.a.run.app"))
 * ```
 *
 * @since 0.1.0
 */
import type { Config } from "ollama"
import type { IdTarget } from "../auth/TokenTarget.js"
import type * as SigningFetch from "../http/SigningFetch.js"
import { idTokenFetch } from "./internal/cloudRun.js"

/**
 * Options of {@link config}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The ID token's audience when the service uses a custom audience. Default: the host's origin. */
  readonly audience?: string | undefined
  /** Default `Authorization`. */
  readonly header?: IdTarget["header"]
  /** Extra headers for every request. */
  readonly headers?: HeadersInit | undefined
  /** The `fetch` underneath. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * `new Ollama(config)` for a Cloud Run host.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const config = (auth: SigningFetch.Signer, host: string, options: Options = {}): Config => ({
  host,
  fetch: idTokenFetch(auth, host, options),
  ...(options.headers === undefined ? {} : { headers: options.headers })
})
