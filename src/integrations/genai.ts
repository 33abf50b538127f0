/**
 * `@google/genai` on our token cache: an auth client for the SDK's
 * `googleAuthOptions.authClient` hook, so existing `new GoogleGenAI({ vertexai: true, … })`
 * and Gemini API code runs keyless with background-refreshed access tokens.
 *
 * @example
 * ```ts
 * import { GoogleGenAI } from "@google/genai"
 * import { AuthClient } from "effect-adc/auth"
 * import * as GenAI from "effect-adc/genai"
 *
 * const auth = AuthClient.make()
 * const ai = new GoogleGenAI({
 *   vertexai: true,
 *   project: "my-project",
 *   location: "global",
 *   googleAuthOptions: GenAI.googleAuthOptions(auth)
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { GoogleGenAIOptions } from "@google/genai"
import { AuthClient as GoogleAuthClient, type gaxios } from "google-auth-library"
import type { AuthHeaders } from "../auth/AuthService.js"
import type { AccessTarget } from "../auth/TokenTarget.js"
import { mayReceive } from "../http/AuthHttpClient.js"
import { stripBearer } from "../internal/bearer.js"

/**
 * The `googleAuthOptions` of `GoogleGenAI`, as @google/genai types them.
 *
 * @since 0.1.0
 * @category Models
 */
export type GoogleAuthOptions = NonNullable<GoogleGenAIOptions["googleAuthOptions"]>

/**
 * The `authClient` @google/genai accepts (typed against the google-auth-library major
 * it bundles, which may differ from ours).
 *
 * @since 0.1.0
 * @category Models
 */
export type GenAIAuthClient = NonNullable<GoogleAuthOptions["authClient"]>

/**
 * Where the tokens come from: an `AuthClient` from `effect-adc/auth`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Source {
  readonly headers: (target: AccessTarget) => Promise<AuthHeaders>
}

/**
 * Options of {@link authClient}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The access target (scopes, quota project). Default: cloud-platform, the service's quota project. */
  readonly target?: Omit<AccessTarget, "kind"> | undefined
  /**
   * Origins besides `https://*.googleapis.com` and `https://*.*.prediction.vertexai.goog`
   * (dedicated endpoints) that may receive the token (a Private
   * Service Connect endpoint, a local emulator set as `httpOptions.baseUrl`).
   */
  readonly origins?: ReadonlyArray<string> | undefined
}

/**
 * A google-auth-library `AuthClient` whose headers come from our cache. The SDK asks
 * for headers before every request (`getRequestHeaders(url)`); a warm read is a cache
 * hit. A URL whose origin may not receive an access token is refused with an error
 * that names the origin, never the token.
 *
 * @since 0.1.0
 * @category Models
 */
export class AdcAuthClient extends GoogleAuthClient {
  readonly #source: Source
  readonly #target: AccessTarget
  readonly #origins: ReadonlyArray<string>

  constructor(source: Source, options: Options = {}) {
    super()
    this.#source = source
    this.#target = { kind: "access", ...options.target }
    this.#origins = options.origins ?? []
  }

  async #headers(url: string | URL | undefined): Promise<AuthHeaders> {
    if (url !== undefined && !mayReceive(this.#target, String(url), { origins: this.#origins })) {
      let origin = String(url)
      try {
        origin = new URL(url).origin
      } catch {
        // not a URL: named as given
      }
      throw new Error(
        `effect-adc: refusing to send a Google access token to ${origin}: it is not a Google API host. ` +
          "If it should receive one (a Private Service Connect endpoint, an emulator), list it in `origins`."
      )
    }
    return this.#source.headers(this.#target)
  }

  /** The request headers (`authorization`, and `x-goog-user-project` with a quota project). */
  override async getRequestHeaders(url?: string | URL): Promise<Headers> {
    return new Headers({ ...(await this.#headers(url)) })
  }

  /** The access token itself, for callers that want the bare value. */
  override async getAccessToken(): Promise<{ token?: string | null }> {
    const headers = await this.#headers(undefined)
    return { token: (headers["authorization"] === undefined ? null : stripBearer(headers["authorization"])) }
  }

  /** A signed request through the client's transporter. */
  override async request<T>(options: gaxios.GaxiosOptions): gaxios.GaxiosPromise<T> {
    const headers = new Headers(options.headers)
    for (const [name, value] of Object.entries(await this.#headers(options.url))) headers.set(name, value)
    return this.transporter.request<T>({ ...options, headers })
  }
}

/**
 * The client for `googleAuthOptions.authClient`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const authClient = (source: Source, options?: Options): GenAIAuthClient =>
  // @google/genai types the hook with the google-auth-library major it bundles; the
  // SDK only calls `getRequestHeaders(url)` on it, which every major shares.
  new AdcAuthClient(source, options) as unknown as GenAIAuthClient

/**
 * The whole `googleAuthOptions` for `new GoogleGenAI({ … })`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const googleAuthOptions = (source: Source, options?: Options): GoogleAuthOptions => ({
  authClient: authClient(source, options)
})
