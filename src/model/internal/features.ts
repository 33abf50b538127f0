/**
 * What a request asks of a backend beyond contents and generation settings, checked
 * before anything is sent: each backend lists the features it cannot honour (and why),
 * and a request that asks for one fails with `Unsupported` instead of being sent without
 * it. Also the pass-through merge of `providerOptions` into a wire body.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ModelError from "../ModelError.js"
import type * as ModelRequest from "../ModelRequest.js"

/**
 * Why a backend cannot honour a feature the request uses, or `undefined` when it can
 * (a rule may depend on the value: Ollama thinks at `low`, not at `minimal`).
 *
 * @internal
 */
export type Rules = Partial<
  Record<ModelError.Feature, (request: Omit<ModelRequest.ModelRequest, "output">) => string | undefined>
>

/** The features a request uses, in a fixed order. @internal */
export const requested = <A>(request: ModelRequest.ModelRequest<A>): Array<ModelError.Feature> => {
  const out: Array<ModelError.Feature> = []
  const thinking = request.thinking
  if (thinking?.level !== undefined) out.push("thinking.level")
  if (thinking?.budget !== undefined) out.push("thinking.budget")
  if (thinking?.includeThoughts !== undefined) out.push("thinking.includeThoughts")
  if (request.safety !== undefined && request.safety.length > 0) out.push("safety")
  if (request.cachedContent !== undefined) out.push("cachedContent")
  if (request.serviceTier !== undefined) out.push("serviceTier")
  if (request.labels !== undefined && Object.keys(request.labels).length > 0) out.push("labels")
  if (request.responseModalities?.some((modality) => modality !== "text") === true) out.push("responseModalities")
  if (request.mediaResolution !== undefined) out.push("mediaResolution")
  const builtIn = request.builtInTools
  if (builtIn?.googleSearch !== undefined && builtIn.googleSearch !== false) out.push("googleSearch")
  if (builtIn?.codeExecution === true) out.push("codeExecution")
  if (builtIn?.urlContext === true) out.push("urlContext")
  if (request.toolChoice !== undefined) out.push("toolChoice")
  return out
}

/**
 * The request itself when the backend can honour every feature it uses; otherwise
 * `Unsupported` for the first one it cannot.
 *
 * @internal
 */
export const check = <A>(
  context: ModelError.Context,
  request: ModelRequest.ModelRequest<A>,
  rules: Rules
): Either.Either<ModelRequest.ModelRequest<A>, ModelError.Unsupported> => {
  for (const feature of requested(request)) {
    const detail = rules[feature]?.(request)
    if (detail !== undefined) return Either.left(new ModelError.Unsupported({ ...context, feature, detail }))
  }
  return Either.right(request)
}

/** The function calling mode of a tool choice, with the functions it allows. @internal */
export const callingMode = (
  choice: ModelRequest.ToolChoice
): ModelRequest.FunctionCallingMode =>
  choice === "auto"
    ? { mode: "auto" }
    : choice === "none"
    ? { mode: "none" }
    : choice === "required"
    ? { mode: "any" }
    : "tool" in choice
    ? { mode: "any", allowedFunctionNames: [choice.tool] }
    : choice

/** The tools a calling mode lets the model see (those it allows; all when it names none). @internal */
export const allowedTools = (
  tools: ReadonlyArray<ModelRequest.Tool> | undefined,
  mode: ModelRequest.FunctionCallingMode | undefined
): ReadonlyArray<ModelRequest.Tool> | undefined => {
  const allowed = mode?.allowedFunctionNames
  if (tools === undefined || allowed === undefined || allowed.length === 0) return tools
  return tools.filter((tool) => allowed.includes(tool.name))
}

const isObject = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** `extra`'s value for one key merged onto `base`'s: objects key by key, anything else replaces. */
const mergeValue = (base: unknown, extra: unknown): unknown => {
  if (!isObject(base) || !isObject(extra)) return extra
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(extra)) out[key] = mergeValue(base[key], value)
  return out
}

/**
 * A wire body with a backend's `providerOptions` merged in: objects merge key by key,
 * anything else (arrays included) is replaced; the pass-through wins. Without options,
 * the body itself.
 *
 * @internal
 */
export const passThrough = <Body extends object>(
  body: Body,
  options: ModelRequest.JsonObject | undefined
): Body => {
  if (options === undefined) return body
  const overrides: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) overrides[key] = mergeValue(Reflect.get(body, key), value)
  return { ...body, ...overrides }
}
