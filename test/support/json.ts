/**
 * Reading recorded JSON bodies in tests without `any`: values stay `unknown`, paths are
 * walked with `at`, and a value of the wrong kind fails the test where it is read.
 */

/** Whether a parsed JSON value is an object (not an array, not null). */
export const isJsonObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** A parsed JSON value as an object; throws (failing the test) when it is not one. */
export const jsonObject = (u: unknown): Record<string, unknown> => {
  if (!isJsonObject(u)) throw new Error(`expected a JSON object, got ${JSON.stringify(u)}`)
  return u
}

/** A parsed JSON value as an array; throws (failing the test) when it is not one. */
export const jsonArray = (u: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(u)) throw new Error(`expected a JSON array, got ${JSON.stringify(u)}`)
  return u
}

/**
 * The value at `path` (object keys and array indices, negative indices from the end),
 * undefined when the last step is absent; throws (failing the test) when a step is taken
 * on something that is not an object (a key) or an array (an index), naming the path.
 */
export const at = (u: unknown, ...path: ReadonlyArray<string | number>): unknown => {
  let node = u
  for (const [i, step] of path.entries()) {
    const where = () => `$${path.slice(0, i + 1).map((s) => typeof s === "number" ? `[${s}]` : `.${s}`).join("")}`
    if (typeof step === "number") {
      if (!Array.isArray(node)) throw new Error(`expected an array before ${where()}`)
      node = node.at(step)
    } else {
      if (!isJsonObject(node)) throw new Error(`expected an object before ${where()}`)
      node = node[step]
    }
  }
  return node
}
