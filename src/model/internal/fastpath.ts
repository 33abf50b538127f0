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
