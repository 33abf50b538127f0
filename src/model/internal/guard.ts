/**
 * A structural fast path in front of the Schema decode of wire bodies. A Schema
 * decode walks the schema's AST through ParseResult's machinery for every body and
 * every stream event; for a long stream that was half of the CPU (issue 14). The wire
 * Schemas (hand-written structs of strings, numbers, booleans, literals, arrays,
 * optional fields and open records) have a decoded value equal to their input, so a
 * plain predicate compiled from the same AST can accept the common case and hand the
 * body on as it is.
 *
 * The predicate is never more lenient than the Schema: it accepts only plain objects
 * where the Schema takes a struct, and a schema with anything it does not know
 * (a transformation, a refinement, a declaration, a recursive schema…) compiles to
 * `undefined`. Anything the predicate rejects goes to the Schema, so a body that does
 * not match fails with the Schema's own message.
 *
 * @internal
 */
import type * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

type Check = (u: unknown) => boolean

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const always: Check = () => true
const isString: Check = (u) => typeof u === "string"
const isNumber: Check = (u) => typeof u === "number"
const isBoolean: Check = (u) => typeof u === "boolean"
const isUndefined: Check = (u) => u === undefined

const union = (members: ReadonlyArray<Check>): Check => {
  // `X | undefined` (every optional field) without a loop
  if (members.length === 2 && members[1] === isUndefined) {
    const first = members[0]!
    return (u) => u === undefined || first(u)
  }
  return (u) => {
    for (let i = 0; i < members.length; i++) if (members[i]!(u)) return true
    return false
  }
}

interface Field {
  readonly name: string
  readonly optional: boolean
  readonly check: Check
}

/**
 * A struct: the object's own keys are walked (a wire object has a few; the schema may
 * name many optional ones), each checked by its field's type; excess keys are kept, as
 * the Schema's `onExcessProperty: "preserve"` keeps them; every required field present.
 */
const struct = (fields: ReadonlyArray<Field>): Check => {
  const byName = new Map(fields.map((field) => [field.name, field]))
  const required = fields.filter((field) => !field.optional).length
  return (u) => {
    if (!isPlainObject(u)) return false
    let present = 0
    for (const key in u) {
      const field = byName.get(key)
      if (field === undefined) continue
      if (!Object.hasOwn(u, key) || !field.check(u[key])) return false
      if (!field.optional) present++
    }
    return present === required
  }
}

const compile = (ast: AST.AST): Check | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return isString
    case "NumberKeyword":
      return isNumber
    case "BooleanKeyword":
      return isBoolean
    case "UnknownKeyword":
    case "AnyKeyword":
      return always
    case "UndefinedKeyword":
      return isUndefined
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "Union": {
      const members: Array<Check> = []
      for (const member of ast.types) {
        const check = compile(member)
        if (check === undefined) return undefined
        members.push(check)
      }
      return union(members)
    }
    case "TupleType": {
      // arrays only: no fixed elements, one rest type
      if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!.type)
      if (item === undefined) return undefined
      return (u) => {
        if (!Array.isArray(u)) return false
        for (let i = 0; i < u.length; i++) if (!item(u[i])) return false
        return true
      }
    }
    case "TypeLiteral": {
      const fields: Array<Field> = []
      for (const property of ast.propertySignatures) {
        if (typeof property.name !== "string") return undefined
        const check = compile(property.type)
        if (check === undefined) return undefined
        fields.push({ name: property.name, optional: property.isOptional, check })
      }
      // only open records of anything (`Record<string, unknown>`)
      for (const signature of ast.indexSignatures) {
        if (signature.parameter._tag !== "StringKeyword") return undefined
        if (signature.type._tag !== "UnknownKeyword" && signature.type._tag !== "AnyKeyword") return undefined
      }
      return struct(fields)
    }
    default:
      return undefined
  }
}

/**
 * A predicate that accepts only values the schema decodes to themselves, or
 * `undefined` when the schema is not one it can judge.
 *
 * @internal
 */
export const guard = <A, I>(schema: Schema.Schema<A, I, never>): ((u: unknown) => u is A) | undefined => {
  const check = compile(schema.ast)
  if (check === undefined) return undefined
  // The check was compiled from this schema's own AST, field by field.
  return (u: unknown): u is A => check(u)
}
