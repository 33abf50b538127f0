/**
 * Building blocks for the hand-written checks of the common stream events (a text
 * delta, the usage, the envelope), which run before the generic structural guard
 * (`guard.ts`) and the Schema. A long stream is thousands of events of one shape; a
 * check that names its fields (`key === "text"`) is a few property compares per key,
 * where the generic guard looks every key up and calls a closure per field (about a
 * third of the per-event cost above `JSON.parse`, issue 14).
 *
 * A check is never more lenient than the Schema: it walks the object's own keys, takes
 * the fields it names when they have the Schema's type, ignores keys the Schema does
 * not know (the decode keeps them as received), and gives up (`false`: the guard and
 * the Schema decide) on a key the Schema knows but the check does not read, on an
 * inherited key, and on any mismatch.
 *
 * @internal
 */
import type * as Schema from "effect/Schema"

/** A JSON object (not an array, not null). @internal */
export const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** The field names of a struct Schema: the keys a fast check must not skip. @internal */
export const fieldNames = (schema: { readonly fields: Schema.Struct.Fields }): ReadonlySet<string> =>
  new Set(Object.keys(schema.fields))

/**
 * The walk every hand-written check makes over one JSON object: `field(key, value)`
 * answers for a key the check reads (`true`: the Schema's type; `false`: give up) and
 * `undefined` for one it does not. The check gives up on a wrong type, on a key the
 * Schema knows (`known`) but the check does not read, and on an inherited key; keys the
 * Schema does not know are skipped. With `required`, that key must be there.
 *
 * @internal
 */
export const fields = (
  u: unknown,
  known: ReadonlySet<string>,
  field: (key: string, value: unknown) => boolean | undefined,
  required?: string
): boolean => {
  if (!isObject(u)) return false
  let found = required === undefined
  for (const key in u) {
    const verdict = field(key, u[key])
    if (verdict === undefined) {
      if (known.has(key)) return false
      continue
    }
    if (!verdict || !Object.hasOwn(u, key)) return false
    if (key === required) found = true
  }
  return found
}

/** An array whose every element passes `check` (a loop: this runs per stream event). @internal */
export const everyOf = (u: unknown, check: (element: unknown) => boolean): boolean => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (!check(u[i])) return false
  return true
}
