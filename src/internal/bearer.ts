/**
 * The credential in an `Authorization`-style header value: the text after the
 * `Bearer` scheme (any case, any whitespace), or the value as given when it has none.
 *
 * @internal
 */
export const stripBearer = (value: string): string => value.replace(/^Bearer\s+/i, "")
