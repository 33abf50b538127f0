/**
 * The one rule for "this 401 rejects OUR token", shared by the middleware and the
 * signing `fetch`. A 401 is about our token only when
 *
 * - a `Bearer` challenge says `error="invalid_token"` (Google APIs, Cloud Run's front
 *   door for a token it could not verify: fixtures/cloudrun/www-authenticate-invalid-token.txt), or
 * - it carries no challenge at all and our token went in `Authorization` (Cloud Run's
 *   bare 401 page: fixtures/cloudrun/error-401-unauthorized-html.json).
 *
 * Anything else is not ours to fix: a `Basic` or `ApiKey` challenge, a Bearer challenge
 * about something else (`insufficient_scope`, none), or a bare 401 when our token went in
 * `X-Serverless-Authorization` (Cloud Run accepted it and forwarded the request: the 401
 * is the app's own, for example vLLM's `--api-key` check on `Authorization`).
 *
 * @internal
 */

/** One challenge of a `WWW-Authenticate` value: its scheme and its parameters. */
interface Challenge {
  readonly scheme: string
  readonly params: Map<string, string>
}

const unquote = (value: string): string => value.startsWith("\"") ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value

/** A name, optionally `= value` (quoted string or bare), after commas or whitespace. */
const item = /[\s,]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*))?/y

/**
 * Parses a `WWW-Authenticate` value into challenges (RFC 9110 §11.6.1): a bare name
 * opens a challenge, `name=value` is a parameter of the current one. Tolerant of the
 * comma-less parameter lists servers send (Cloud Run's front door does).
 *
 * @internal
 */
export const parseChallenges = (value: string): ReadonlyArray<Challenge> => {
  const challenges: Array<{ scheme: string; params: Map<string, string> }> = []
  item.lastIndex = 0
  for (let match = item.exec(value); match !== null; match = item.exec(value)) {
    const [, name = "", raw] = match
    if (raw === undefined) challenges.push({ scheme: name.toLowerCase(), params: new Map() })
    else challenges[challenges.length - 1]?.params.set(name.toLowerCase(), unquote(raw))
    if (item.lastIndex >= value.length) break
  }
  return challenges
}

/**
 * Does this response reject the token we sent in `header`?
 *
 * @internal
 */
export const tokenRejected = (
  status: number,
  challenge: string | null | undefined,
  header: "authorization" | "x-serverless-authorization"
): boolean => {
  if (status !== 401) return false
  if (challenge === null || challenge === undefined || challenge.trim() === "") return header === "authorization"
  return parseChallenges(challenge).some((c) => c.scheme === "bearer" && c.params.get("error") === "invalid_token")
}
