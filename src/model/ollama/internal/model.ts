/**
 * ModelService over the Ollama wire client: encode the request, normalise the decoded
 * answer.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { callOptions, withValue } from "../../internal/common.js"
import * as Features from "../../internal/features.js"
import type * as Telemetry from "../../internal/telemetry.js"
import * as ModelError from "../../ModelError.js"
import type * as ModelRequest from "../../ModelRequest.js"
import type { ModelService } from "../../ModelService.js"
import type { OllamaClient } from "../OllamaClient.js"
import * as Ollama from "./protocol.js"

/** The wire body: the request encoded, `providerOptions.ollama` merged in. */
const body = <A>(request: ModelRequest.ModelRequest<A>, stream: boolean): Ollama.ChatRequest =>
  Features.passThrough(Ollama.encodeRequest(request, stream), request.providerOptions?.ollama)

/** Ollama's `/api/chat`. @internal */
export const ollama = (client: OllamaClient.Service): ModelService.Service => {
  const backend = "ollama"
  return {
    generate: (request) => {
      const context = { backend, model: request.model } as const
      return Effect.flatMap(Features.check(context, request, Ollama.rules), (request) =>
        Effect.flatMap(
          client.chat(body(request, false), callOptions(request)),
          (body) =>
            Ollama.normalise(context, body, body).pipe(
              Either.flatMap((response) => withValue(context, response, request.output))
            )
        ))
    },
    stream: (request) =>
      Stream.suspend(() =>
        Either.match(Features.check({ backend, model: request.model }, request, Ollama.rules), {
          onLeft: Stream.fail,
          onRight: (request) => client.chatStream(body(request, true), callOptions(request))
        })
      ),
    countTokens: (request) =>
      Effect.fail(
        new ModelError.InvalidRequest({
          backend,
          model: request.model,
          detail: "Ollama has no token counting endpoint"
        })
      )
  }
}

/** Telemetry's view of an Ollama client: `chat`. @internal */
export const ollamaTelemetry = (client: OllamaClient.Service): Telemetry.Provider => ({
  name: "ollama",
  operation: "chat",
  url: client.url,
  reasoningOutside: false
})
