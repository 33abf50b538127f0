/**
 * Gemini's OpenAPI-style `Schema` (upper-case `type`, `nullable`, `propertyOrdering`)
 * as a JSON Schema, so that a tool declared for Gemini also works on Ollama and
 * OpenAI-compatible servers.
 *
 * @internal
 */

type Json = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal */
export const toJsonSchema = (schema: unknown): Json => {
  if (!isObject(schema)) return {}
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (value === undefined || value === null) continue
    switch (key) {
      case "type":
        if (typeof value === "string" && value !== "TYPE_UNSPECIFIED") out["type"] = value.toLowerCase()
        break
      case "nullable":
      case "propertyOrdering":
        break
      case "properties":
        if (isObject(value)) {
          out["properties"] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, toJsonSchema(s)]))
        }
        break
      case "items":
        out["items"] = toJsonSchema(value)
        break
      case "anyOf":
        if (Array.isArray(value)) out["anyOf"] = value.map(toJsonSchema)
        break
      case "minItems":
      case "maxItems":
      case "minLength":
      case "maxLength":
      case "minProperties":
      case "maxProperties":
        // the Gemini Schema types int64 counts as strings
        out[key] = typeof value === "string" ? Number(value) : value
        break
      default:
        out[key] = value
    }
  }
  if (schema["nullable"] === true && typeof out["type"] === "string") out["type"] = [out["type"], "null"]
  return out
}
