/**
 * Route matching and the upstream path. A route's prefix matches whole segments of the
 * raw request path (`/gemma` matches `/gemma/x` and `/gemma?x`, not `/gemmax`); the rest
 * is normalised before it is appended to the upstream's base path, so that it can
 * never leave that base path:
 *
 * - `.` and `..` segments are resolved, also when percent-encoded (`%2e`, `%2E%2e`, …);
 *   a `..` that would climb above the base path is refused;
 * - an encoded slash or backslash (`%2f`, `%5c`) or a raw backslash in a segment is
 *   refused: upstreams disagree on whether it separates segments.
 *
 * Everything else (other escapes, the query) is passed on byte for byte.
 *
 * @internal
 */

/** @internal */
export type Resolved =
  | { readonly _tag: "Ok"; readonly path: string }
  | { readonly _tag: "Refused"; readonly detail: string }

/** The route whose prefix matches the path (the longest), on a segment boundary. @internal */
export const match = <R extends { readonly prefix: string }>(routes: ReadonlyArray<R>, url: string): R | undefined => {
  let best: R | undefined
  for (const route of routes) {
    const prefix = route.prefix.endsWith("/") ? route.prefix.slice(0, -1) : route.prefix
    const hit = prefix === "" || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`)
    if (hit && (best === undefined || route.prefix.length > best.prefix.length)) best = route
  }
  return best
}

const dots = (segment: string): "." | ".." | undefined => {
  if (segment.length > 6 || (segment[0] !== "." && segment[0] !== "%")) return undefined
  const plain = segment.replace(/%2e/gi, ".")
  return plain === "." || plain === ".." ? plain : undefined
}

const separatorLike = /%2f|%5c|\\/i

/**
 * The upstream path (`base` + the normalised rest + the query) for `rest`, what follows
 * the route's prefix in the request URL (empty, or starting with `/` or `?`).
 *
 * @internal
 */
export const upstreamPath = (base: string, rest: string): Resolved => {
  const q = rest.indexOf("?")
  const path = q < 0 ? rest : rest.slice(0, q)
  const query = q < 0 ? "" : rest.slice(q)
  if (path === "" || path === "/") {
    return { _tag: "Ok", path: `${base}${path === "" && base !== "" ? "" : "/"}${query}` }
  }
  // Fast path: nothing to normalise.
  if (!path.includes(".") && !path.includes("%") && !path.includes("\\")) {
    return { _tag: "Ok", path: `${base}${path}${query}` }
  }
  const segments = path.slice(1).split("/")
  const out: Array<string> = []
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    if (separatorLike.test(segment)) {
      return { _tag: "Refused", detail: "an encoded slash or a backslash in the path is not accepted" }
    }
    const dot = dots(segment)
    if (dot === undefined) {
      out.push(segment)
      continue
    }
    if (dot === "..") {
      if (out.length === 0) return { _tag: "Refused", detail: "the path climbs above the route's base path" }
      out.pop()
    }
    // A dot segment at the end leaves a directory path ("/a/." is "/a/").
    if (i === segments.length - 1) out.push("")
  }
  return { _tag: "Ok", path: `${base}/${out.join("/")}${query}` }
}
