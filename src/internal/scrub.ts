/**
 * The one secret scrubber: anything token- or key-shaped is replaced before text that
 * came from a server or a library goes into an error, a log or a cause. It covers
 * JWTs (ID tokens, assertions), Google access tokens (`ya29.`), refresh tokens
 * (`1//`), API keys (`AIza`), bearer values, PEM private keys and `name=value` /
 * `"name": "value"` pairs of the usual secret names.
 *
 * @internal
 */

const secretPatterns: ReadonlyArray<RegExp> = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /eyJ[\w-]*\.[\w-]*\.[\w-]*/g,
  /ya29\.[\w.-]+/g,
  /1\/\/[\w.-]{20,}/g,
  /AIza[\w-]{20,}/g,
  /(bearer\s+)[^\s"',]+/gi,
  /((?:access_token|id_token|refresh_token|client_secret|assertion|private_key|api_key|apikey|token)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi
]

/**
 * Scrubs `text`; with `maxLength`, a longer result is cut there and ends with `…`.
 *
 * @internal
 */
export const scrub = (text: string, maxLength?: number): string => {
  let out = text
  for (const pattern of secretPatterns) {
    out = out.replace(pattern, (_match, prefix?: unknown) => `${typeof prefix === "string" ? prefix : ""}<redacted>`)
  }
  return maxLength !== undefined && out.length > maxLength ? `${out.slice(0, maxLength)}…` : out
}
