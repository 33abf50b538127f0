/**
 * A `fetch` that sends Google's auth hosts to the emulator, lets loopback
 * through and refuses everything else, so nothing a test does leaves the
 * machine.
 *
 * @internal
 */

const EMULATED_HOSTS = new Set(["oauth2.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com"])
const WWW_PREFIXES = ["/oauth2/", "/robot/v1/metadata/", "/service_accounts/v1/"]
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/** Whether a Google URL is played by the emulator's googleapis server. @internal */
export const isEmulated = (url: URL): boolean => {
  if (url.protocol !== "https:" && url.protocol !== "http:") return false
  if (EMULATED_HOSTS.has(url.hostname)) return true
  if (url.hostname === "www.googleapis.com") return WWW_PREFIXES.some((p) => url.pathname.startsWith(p))
  if (url.hostname === "accounts.google.com") return url.pathname === "/o/oauth2/token"
  return false
}

/** @internal */
export const isLoopback = (url: URL): boolean => LOOPBACK.has(url.hostname) || url.hostname.startsWith("127.")

/** @internal */
export const makeFetch = (googleApisUrl: string): typeof globalThis.fetch => {
  const realFetch = globalThis.fetch.bind(globalThis)
  const base = new URL(googleApisUrl)
  return async (input, init) => {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : String(input)
    const url = new URL(href)
    if (isLoopback(url)) return realFetch(input, init)
    if (isEmulated(url)) {
      const target = new URL(`${url.pathname}${url.search}`, base)
      return input instanceof Request ? realFetch(new Request(target, input), init) : realFetch(target, init)
    }
    throw new TypeError(
      `effect-adc/testing: refusing to fetch ${url.origin}: only Google's auth hosts (played by the emulator) and loopback are reachable`
    )
  }
}
