/**
 * Helpers shared by the backends' wire modules.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { scrub } from "../../internal/scrub.js"
import * as ModelError from "../ModelError.js"
import type * as ModelRequest from "../ModelRequest.js"
import type * as ModelResponse from "../ModelResponse.js"
import { fromStreamError, unlessPolluted } from "./errors.js"
import { guard } from "./guard.js"
import type * as Stream from "./stream.js"

/** An open JSON object on the wire: call arguments, a function's response, a JSON Schema. @internal */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** `decode()`'s result on plain prototypes, else the refusal as its failure (`unlessPolluted`). */
const refusedIfPolluted = <A, E>(
  context: ModelError.Context & { readonly status?: number | undefined },
  decode: () => Either.Either<A, E>
): Either.Either<A, E | ModelError.PrototypePolluted> => {
  const result = unlessPolluted(context, decode)
  return Either.isEither(result) ? result : Either.left(result)
}

/**
 * Decode a wire body; a mismatch becomes `Decode` saying what did not match, and a
 * polluted prototype `PrototypePolluted` (`fastpath.ts`). A body of the common shape
 * passes `common` (a protocol's hand-written check of its commonest stream event) or the
 * structural check compiled from the same schema (`guard.ts`) and is used as it is;
 * anything else goes through the Schema.
 *
 * @internal
 */
export const decodeWire = <A, I>(
  schema: Schema.Schema<A, I, never>,
  what: string,
  common?: (u: unknown) => u is A
) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve" })
  const fast = guard(schema)
  return (
    context: ModelError.Context,
    body: unknown
  ): Either.Either<A, ModelError.Decode | ModelError.PrototypePolluted> =>
    refusedIfPolluted(
      context,
      (): Either.Either<A, ModelError.Decode> =>
        (common !== undefined && common(body)) || (fast !== undefined && fast(body)) ?
          Either.right(body) :
          Either.mapLeft(decode(body), (error) =>
            new ModelError.Decode({
              ...context,
              detail: `${what}: ${scrub(ParseResult.TreeFormatter.formatErrorSync(error))}`
            }))
    )
}

/** A text that is not JSON, as `Decode`. */
const notJson = (
  context: ModelError.Context & { readonly status?: number | undefined },
  text: string,
  what: string,
  cause: unknown
) =>
  new ModelError.Decode({
    ...context,
    detail: `${what} is not JSON (${cause instanceof Error ? cause.message : "unreadable"}): ${
      scrub(text.slice(0, 120))
    }`
  })

/**
 * Parse a JSON text; failure becomes `Decode`. It does not look at the prototypes: for a
 * body that `decodeWire` decodes next, which looks where the fields are read.
 *
 * @internal
 */
export const parseWireJson = (
  context: ModelError.Context & { readonly status?: number | undefined },
  text: string,
  what: string
): Either.Either<unknown, ModelError.Decode> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (cause) {
    return Either.left(notJson(context, text, what, cause))
  }
}

/**
 * Parse a JSON text that is read at once (structured output, tool arguments); failure
 * becomes `Decode`, and a polluted prototype (whose names every parsed object would
 * inherit) `PrototypePolluted`.
 *
 * @internal
 */
export const parseJson = (
  context: ModelError.Context & { readonly status?: number | undefined },
  text: string,
  what: string
): Either.Either<unknown, ModelError.Decode | ModelError.PrototypePolluted> =>
  refusedIfPolluted(context, () => parseWireJson(context, text, what))

/** JSON of a text that may be none (no closure per call: this runs once per stream event). */
const tryJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * A stream frame as JSON: text outside events is an error body when it is one (Google
 * writes its error JSON into a failing stream without SSE framing) and ignored
 * otherwise (`undefined`); an event that is not JSON, or that carries an error, fails.
 *
 * @internal
 */
export const frameJson = (
  context: ModelError.Context,
  frame: Stream.Frame
): Either.Either<unknown, ModelError.ModelError> | undefined => {
  if (typeof frame !== "string") {
    const json = tryJson(frame.text)
    const error = json === undefined ? undefined : fromStreamError(context, json)
    return error === undefined ? undefined : Either.left(error)
  }
  let json: unknown
  try {
    json = JSON.parse(frame)
  } catch (cause) {
    return Either.left(notJson(context, frame, "an event of the stream", cause))
  }
  const error = fromStreamError(context, json)
  return error === undefined ? Either.right(json) : Either.left(error)
}

/** Decode structured output with the request's schema into `value`. @internal */
export const withValue = <A>(
  context: ModelError.Context,
  response: ModelResponse.ModelResponse,
  output: ModelRequest.Output<A> | undefined
): Either.Either<ModelResponse.ModelResponse<A>, ModelError.Decode | ModelError.PrototypePolluted> => {
  if (output === undefined) return Either.right({ ...response, value: undefined })
  return Either.map(
    Either.flatMap(
      parseJson(context, response.text, "The structured output"),
      (json) =>
        Either.mapLeft(Schema.decodeUnknownEither(output.schema)(json), (error) =>
          new ModelError.Decode({
            ...context,
            detail: `the structured output does not match the requested schema: ${
              ParseResult.TreeFormatter.formatErrorSync(error)
            }`
          }))
    ),
    (value): ModelResponse.ModelResponse<A> => ({ ...response, value })
  )
}

/** Parse a JSON-string tool argument object (OpenAI). @internal */
export const parseArguments = (
  context: ModelError.Context,
  name: string,
  text: string
): Either.Either<Record<string, unknown>, ModelError.Decode | ModelError.PrototypePolluted> => {
  if (text.trim() === "") return Either.right({})
  return Either.flatMap(parseJson(context, text, `The arguments of tool call ${name}`), (json) =>
    isRecord(json)
      ? Either.right(json)
      : Either.left(
        new ModelError.Decode({ ...context, detail: `the arguments of tool call ${name} are not a JSON object` })
      ))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Whether a wire object has a field to send (an `undefined` field is not sent: request
 * bodies go out through `JSON.stringify`). @internal
 */
export const hasDefined = (record: object): boolean => Object.values(record).some((value) => value !== undefined)

/** The end of a stream whose protocol's end marker never came. @internal */
export const truncated = (context: ModelError.Context, marker: string) =>
  new ModelError.StreamTruncated({ ...context, detail: `the body ended without ${marker}` })

/** A request's per-call settings for a wire client. @internal */
export const callOptions = <A>(request: ModelRequest.ModelRequest<A>) => ({
  model: request.model,
  headers: request.headers,
  timeout: request.timeout,
  firstChunkTimeout: request.firstChunkTimeout,
  idleTimeout: request.idleTimeout
})
