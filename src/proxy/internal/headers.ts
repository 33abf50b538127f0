/**
 * Header forwarding for the proxy, on Node's raw header lists (`rawHeaders`: name,
 * value, name, value, …), so repeated headers (`Set-Cookie`, `Cookie`) stay separate
 * lines and keep their order.
 *
 * Never forwarded, in either direction: the hop-by-hop headers of RFC 9110 7.6.1 and
 * any header a `Connection` header names. On the way up also: `Host` (the upstream's
 * own is set), `Expect` (the proxy answers `100 Continue` itself), Cloud Run's
 * `X-Serverless-Authorization`, and the caller's `Authorization` unless the route
 * forwards it; the token header is then set by the proxy alone.
 *
 * @internal
 */

/** RFC 9110 7.6.1, plus the names older proxies use. @internal */
export const hopByHop: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade"
])

/** The header names a message's `Connection` headers list (lower case). @internal */
export const connectionNamed = (raw: ReadonlyArray<string>): ReadonlySet<string> | undefined => {
  let named: Set<string> | undefined
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== "connection") continue
    for (const token of raw[i + 1]!.split(",")) {
      const name = token.trim().toLowerCase()
      if (name !== "") (named ??= new Set()).add(name)
    }
  }
  return named
}

/**
 * Copies `raw` into `out` (as raw pairs), leaving out hop-by-hop headers, the ones the
 * message's `Connection` names, and those `drop` refuses (lower-case name).
 *
 * @internal
 */
export const copyEndToEnd = (
  raw: ReadonlyArray<string>,
  out: Array<string>,
  drop?: (lowerName: string) => boolean
): Array<string> => {
  const named = connectionNamed(raw)
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    if (hopByHop.has(lower) || named?.has(lower) === true || drop?.(lower) === true) continue
    out.push(name, raw[i + 1]!)
  }
  return out
}

/**
 * What a request must not carry upstream, besides hop-by-hop headers: `ours` are the
 * headers the proxy sets (the token, `x-goog-user-project`), which replace the caller's.
 *
 * @internal
 */
export const requestDrop =
  (forwardAuthorization: boolean, ours: Readonly<Record<string, string>>) => (lower: string): boolean =>
    lower === "host" || lower === "expect" || lower === "x-serverless-authorization" ||
    (lower === "authorization" && !forwardAuthorization) || Object.hasOwn(ours, lower)
