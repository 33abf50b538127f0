/**
 * The `openai` client on an OpenAI-compatible server on private Cloud Run (vLLM,
 * Gemma): a Google-signed ID token on every request, refreshed in the background.
 * Two ways in: our signing `fetch` (recommended: a rejected token is replaced and the
 * request replayed once), or openai's async `apiKey` hook (the token is read from the
 * cache before every request, but a 401 is not replayed).
 *
 * @example
 * ```ts
 * import OpenAI from "openai"
 * import { AuthClient } from "effect-adc/auth"
 * import * as OpenAi from "effect-adc/openai"
 *
 * const auth = AuthClient.make()
 * const client = new OpenAI(OpenAi.clientOptions(auth, "https://vllm-abc-uc.a.run.app/v1"))
 * ```
 *
 * @since 0.1.0
 */
import type { ClientOptions } from "openai"
import type { IdTarget } from "../auth/TokenTarget.js"
import type * as SigningFetch from "../http/SigningFetch.js"
import { bearerValue, idTokenFetch } from "./internal/cloudRun.js"

/**
 * Options of {@link clientOptions} and {@link fetch}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The ID token's audience when the service uses a custom audience. Default: the base URL's origin. */
  readonly audience?: string | undefined
  /**
   * `X-Serverless-Authorization` keeps `Authorization` for the server's own API key
   * (vLLM's `--api-key`), passed as `apiKey`. Default `Authorization`.
   */
  readonly header?: IdTarget["header"]
  /** The server's own API key, if it has one (use with `header: "X-Serverless-Authorization"`). */
  readonly apiKey?: string | undefined
  /** The `fetch` underneath. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * The ID-token signing `fetch` for the server (openai's `fetch` option).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fetch = (auth: SigningFetch.Signer, baseURL: string, options: Options = {}): typeof globalThis.fetch =>
  idTokenFetch(auth, baseURL, options)

/**
 * `new OpenAI(options)` for a Cloud Run server: `baseURL`, our `fetch`, and an
 * `apiKey` (openai requires one; without a server key it is a placeholder that our
 * token replaces in `Authorization`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const clientOptions = (auth: SigningFetch.Signer, baseURL: string, options: Options = {}): ClientOptions => ({
  baseURL,
  apiKey: options.apiKey ?? "effect-adc-id-token",
  fetch: fetch(auth, baseURL, options)
})

/**
 * openai's async `apiKey` hook: the ID token for `audience`, from the cache before
 * every request. No 401 replay on this path; prefer {@link clientOptions}.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const apiKey = (auth: SigningFetch.Signer, audience: string): () => Promise<string> => async () =>
  bearerValue(await auth.headers({ kind: "id", audience }))
