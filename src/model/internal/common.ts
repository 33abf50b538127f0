/**
 * Helpers shared by the backends' wire modules.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ModelError from "../ModelError.js"
import type * as ModelRequest from "../ModelRequest.js"
import type * as ModelResponse from "../ModelResponse.js"
import { scrub } from "./errors.js"

/** Decode a wire body; a mismatch becomes `Decode` saying what did not match. @internal */
export const decodeWire = <A, I>(backend: ModelError.Backend, schema: Schema.Schema<A, I, never>, what: string) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  return (body: unknown): Either.Either<A, ModelError.Decode> =>
    Either.mapLeft(decode(body), (error) =>
      new ModelError.Decode({
        backend,
        detail: `${what}: ${scrub(ParseResult.TreeFormatter.formatErrorSync(error))}`,
        cause: error
      }))
}

/** Parse a JSON text; failure becomes `Decode`. @internal */
export const parseJson = (backend: ModelError.Backend, text: string, what: string): Either.Either<unknown, ModelError.Decode> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) =>
      new ModelError.Decode({
        backend,
        detail: `${what} is not JSON (${String(cause instanceof Error ? cause.message : cause)}): ${
          scrub(text.slice(0, 120))
        }`,
        cause
      })
  })

/** Decode structured output with the request's schema into `value`. @internal */
export const withValue = <A>(
  backend: ModelError.Backend,
  response: ModelResponse.ModelResponse,
  output: ModelRequest.Output<A> | undefined
): Either.Either<ModelResponse.ModelResponse<A>, ModelError.Decode> => {
  if (output === undefined) return Either.right(response as ModelResponse.ModelResponse<A>)
  return Either.map(
    Either.flatMap(parseJson(backend, response.text, "The structured output"), (json) =>
      Either.mapLeft(Schema.decodeUnknownEither(output.schema)(json), (error) =>
        new ModelError.Decode({
          backend,
          detail: `the structured output does not match the requested schema: ${
            ParseResult.TreeFormatter.formatErrorSync(error)
          }`,
          cause: error
        }))),
    (value) => ({ ...response, value })
  )
}

/** Parse a JSON-string tool argument object (OpenAI). @internal */
export const parseArguments = (
  backend: ModelError.Backend,
  name: string,
  text: string
): Either.Either<Record<string, unknown>, ModelError.Decode> => {
  if (text.trim() === "") return Either.right({})
  return Either.flatMap(parseJson(backend, text, `The arguments of tool call ${name}`), (json) =>
    typeof json === "object" && json !== null && !Array.isArray(json)
      ? Either.right(json as Record<string, unknown>)
      : Either.left(
        new ModelError.Decode({ backend, detail: `the arguments of tool call ${name} are not a JSON object` })
      ))
}

/** Drop undefined values so exactOptionalPropertyTypes is satisfied. @internal */
export const defined = <A extends Record<string, unknown>>(record: A): { [K in keyof A]?: Exclude<A[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value
  return out as never
}
