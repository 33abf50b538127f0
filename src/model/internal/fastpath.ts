/**
 * Building blocks for the hand-written checks of the common stream events (a text
 * delta, the usage, the envelope), which run before the generic structural guard
 * (`guard.ts`) and the Schema. A long stream is thousands of events of one shape, and a
 * check that reads each field by name (`u.text`) is one inline-cached load per field:
 * walking the keys instead (`for…in`, a set lookup and a callback per key) cost the
 * Gemini event check 0.26 µs of the decoder's 2.1 per event, reading by name 0.16
 * (`.tmp/checkmicro3.ts`, session 8).
 *
 * A check is never more lenient than the Schema: it reads every field the Schema knows
 * (a test records the reads against the Schema's field names), takes a field only when
 * it is the object's own property with the Schema's type, takes the fields the Schema
 * knows and the check does not expect only when they are absent, and ignores keys the
 * Schema does not know (the decode keeps them as received). Anything else is `false`:
 * the guard and the Schema decide.
 *
 * @internal
 */
/** A JSON object (not an array, not null). @internal */
export const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * `value`, read as `u[key]`, is absent, or `u`'s own property of the JavaScript type
 * `type` (an inherited value is not the object's: the Schema would not read it).
 *
 * @internal
 */
export const optional = (
  u: Record<string, unknown>,
  key: string,
  value: unknown,
  type: "string" | "number" | "boolean"
): boolean => value === undefined || (typeof value === type && Object.hasOwn(u, key))

/** `value`, read as `u[key]`, is absent or `null`, or `u`'s own string. @internal */
export const optionalText = (u: Record<string, unknown>, key: string, value: unknown): boolean =>
  value === undefined || value === null || (typeof value === "string" && Object.hasOwn(u, key))

/** An array whose every element passes `check` (a loop: this runs per stream event). @internal */
export const everyOf = (u: unknown, check: (element: unknown) => boolean): boolean => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (!check(u[i])) return false
  return true
}
