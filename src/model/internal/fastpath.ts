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
 * "Own property" costs an `Object.hasOwn` per field, about 0.2 µs of a Gemini event's
 * check of 0.3 (`.tmp/hasown.ts`, session 9), except inside `withPlainPrototype`: every
 * decode of an answer runs in it (each network read of a stream, each body), and there
 * a defined field of a `JSON.parse` object is known to be its own; with a polluted
 * prototype the answer is refused instead (see `withPlainPrototype`).
 *
 * @internal
 */
/** The names `Object.prototype` has in every engine we run on (the language's, and Annex B's). */
const standardNames: ReadonlySet<string> = new Set([
  "constructor",
  "__defineGetter__",
  "__defineSetter__",
  "hasOwnProperty",
  "__lookupGetter__",
  "__lookupSetter__",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toString",
  "valueOf",
  "__proto__",
  "toLocaleString"
])

/** A name `Array.prototype` may not have: an index, which an array's missing element would inherit. */
const indexName = /^\d/

/**
 * The properties a parsed answer would inherit beyond the standard ones: any extra name
 * on `Object.prototype`, and any index on `Array.prototype` (polyfills add methods
 * there, which no read of ours takes as an element); `undefined` when there are none.
 */
const inheritedExtras = (): ReadonlyArray<string> | undefined => {
  let extras: Array<string> | undefined
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    if (!standardNames.has(name)) (extras ??= []).push(`Object.prototype.${name}`)
  }
  // an object lists its index keys first: one test when there are none
  const arrayNames = Object.getOwnPropertyNames(Array.prototype)
  if (!indexName.test(arrayNames[0] ?? "")) return extras
  for (const name of arrayNames) {
    if (indexName.test(name)) (extras ??= []).push(`Array.prototype[${name}]`)
  }
  return extras
}

// true only while `withPlainPrototype` runs its function on plain prototypes
let plain = false

/**
 * Runs `decode` (a body, or one network read's frames, parsed and checked) when the
 * prototypes are plain, and `polluted` with the extra names instead when they are not:
 * a polluted prototype would make every field an answer leaves out read as the
 * polluted value, so the answer is not read at all (`ModelError.PrototypePolluted`).
 *
 * Inside `decode`, every object `JSON.parse` made inherits only plain prototypes, so a
 * field the checks find defined is the object's own, and `own` need not ask. Nothing
 * inside adds a name to a prototype: the decode is synchronous and runs none of the
 * caller's code (unless a standard method of `Object.prototype` was itself replaced by
 * code, which then already runs in the process and could change anything). Nested
 * calls look once.
 *
 * @internal
 */
export const withPlainPrototype = <A, E>(
  decode: () => A,
  polluted: (names: ReadonlyArray<string>) => E
): A | E => {
  if (plain) return decode()
  const extras = inheritedExtras()
  if (extras !== undefined) return polluted(extras)
  plain = true
  try {
    return decode()
  } finally {
    plain = false
  }
}

/**
 * Whether `u[key]`, read and found defined, is `u`'s own property (a `JSON.parse`
 * object's, inside `withPlainPrototype`; any object's elsewhere).
 *
 * @internal
 */
export const own = (u: Record<string, unknown>, key: string): boolean => plain || Object.hasOwn(u, key)

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
): boolean => value === undefined || (typeof value === type && own(u, key))

/** `value`, read as `u[key]`, is absent or `null`, or `u`'s own string. @internal */
export const optionalText = (u: Record<string, unknown>, key: string, value: unknown): boolean =>
  value === undefined || value === null || (typeof value === "string" && own(u, key))

/** An array whose every element passes `check` (a loop: this runs per stream event). @internal */
export const everyOf = (u: unknown, check: (element: unknown) => boolean): boolean => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (!check(u[i])) return false
  return true
}
