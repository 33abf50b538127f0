/**
 * The MCP SDK's Streamable HTTP client on a private Cloud Run service: a transport
 * `fetch` that puts a Google-signed ID token (audience: the server's origin) on every
 * request to the MCP server and nothing on any other origin (OAuth discovery, a
 * redirect elsewhere). This is the fix for "an access token sent where Cloud Run
 * needs an ID token": Cloud Run only accepts ID tokens.
 *
 * @example
 * ```ts
 * import { Client } from "@modelcontextprotocol/sdk/client/index.js"
 * import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
 * import { AuthClient } from "effect-adc/auth"
 * import * as Mcp from "effect-adc/mcp"
 *
 * const auth = AuthClient.make()
 * const url = new URL("https://mcp-abc-uc.a.run.app/mcp")
 * const client = new Client({ name: "agent", version: "1.0.0" })
 * await client.connect(new StreamableHTTPClientTransport(url, Mcp.transportOptions(auth, url)))
 * ```
 *
 * @since 0.1.0
 */
import type { StreamableHTTPClientTransportOptions } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { IdTarget } from "../auth/TokenTarget.js"
import type * as SigningFetch from "../http/SigningFetch.js"
import { idTokenFetch } from "./internal/cloudRun.js"

/**
 * Options of {@link fetch} and {@link transportOptions}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The ID token's audience when the service uses a custom audience. Default: the server URL's origin. */
  readonly audience?: string | undefined
  /**
   * Where the ID token goes. Use `X-Serverless-Authorization` when the MCP server
   * does its own OAuth in `Authorization` (the MCP authorization spec). Default `Authorization`.
   */
  readonly header?: IdTarget["header"]
  /** The `fetch` underneath. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * The ID-token signing `fetch` for an MCP server URL.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fetch = (
  auth: SigningFetch.Signer,
  serverUrl: string | URL,
  options: Options = {}
): typeof globalThis.fetch => idTokenFetch(auth, serverUrl, options)

/**
 * The options of `new StreamableHTTPClientTransport(url, options)`; `extra` options
 * (reconnection, session id, an `authProvider` for the server's own OAuth) are kept.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const transportOptions = (
  auth: SigningFetch.Signer,
  serverUrl: string | URL,
  options: Options = {},
  extra: Omit<StreamableHTTPClientTransportOptions, "fetch"> = {}
): StreamableHTTPClientTransportOptions => ({ ...extra, fetch: fetch(auth, serverUrl, options) })
