/**
 * ModelService over the OpenAI-compatible wire client: encode the request, normalise the decoded
 * answer.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { callOptions, withValue } from "../../internal/common.js"
import * as Features from "../../internal/features.js"
import * as Telemetry from "../../internal/telemetry.js"
import * as ModelError from "../../ModelError.js"
import type * as ModelRequest from "../../ModelRequest.js"
import type { ModelService } from "../../ModelService.js"
import type { OpenAICompatibleClient } from "../OpenAICompatibleClient.js"
import * as OpenAI from "./protocol.js"

/** The wire body: the request encoded, `providerOptions.openai` merged in. */
const body = <A>(request: ModelRequest.ModelRequest<A>, stream: boolean): OpenAI.ChatCompletionRequest =>
  Features.passThrough(OpenAI.encodeRequest(request, stream), request.providerOptions?.openai)

/** The OpenAI-compatible `/v1/chat/completions`. @internal */
export const openai = (client: OpenAICompatibleClient.Service): ModelService.Service => {
  const backend = "openai-compatible"
  return {
    generate: (request) => {
      const context = { backend, model: request.model } as const
      return Effect.flatMap(Features.check(context, request, OpenAI.rules), (request) =>
        Effect.flatMap(
          client.chatCompletions(body(request, false), callOptions(request)),
          (body) =>
            OpenAI.normalise(context, body, body).pipe(
              Either.flatMap((response) => withValue(context, response, request.output))
            )
        ))
    },
    stream: (request) =>
      Stream.suspend(() =>
        Either.match(Features.check({ backend, model: request.model }, request, OpenAI.rules), {
          onLeft: Stream.fail,
          onRight: (request) => client.chatCompletionsStream(body(request, true), callOptions(request))
        })
      ),
    countTokens: (request) =>
      Effect.fail(
        new ModelError.InvalidRequest({
          backend,
          model: request.model,
          detail: "the OpenAI-compatible API has no token counting endpoint"
        })
      )
  }
}

/** Telemetry's view of an OpenAI-compatible client: `chat`, the provider name it was given. @internal */
export const openaiTelemetry = (client: OpenAICompatibleClient.Service): Telemetry.Provider => ({
  name: client.provider ?? Telemetry.providerNames["openai-compatible"],
  operation: "chat",
  url: client.url,
  // completion_tokens counts the reasoning tokens
  reasoningOutside: false
})
