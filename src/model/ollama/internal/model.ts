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
import type * as Telemetry from "../../internal/telemetry.js"
import * as ModelError from "../../ModelError.js"
import type { ModelService } from "../../ModelService.js"
import type { OllamaClient } from "../OllamaClient.js"
import * as Ollama from "./protocol.js"

/** Ollama's `/api/chat`. @internal */
export const ollama = (client: OllamaClient.Service): ModelService.Service => {
  const backend = "ollama"
  return {
    generate: (request) => {
      const context = { backend, model: request.model } as const
      return Effect.flatMap(
        client.chat(Ollama.encodeRequest(request, false), callOptions(request)),
        (body) =>
          Ollama.normalise(context, body, body).pipe(
            Either.flatMap((response) => withValue(context, response, request.output))
          )
      )
    },
    stream: (request) =>
      Stream.suspend(() => client.chatStream(Ollama.encodeRequest(request, true), callOptions(request))),
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
