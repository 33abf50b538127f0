/**
 * ModelService over each low-level wire client: encode the request, call the client
 * (which decodes the wire), normalise.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { GeminiClient } from "../GeminiClient.js"
import * as ModelError from "../ModelError.js"
import type * as ModelRequest from "../ModelRequest.js"
import type { ModelService } from "../ModelService.js"
import type { OllamaClient } from "../OllamaClient.js"
import type { OpenAICompatibleClient } from "../OpenAICompatibleClient.js"
import { withValue } from "./common.js"
import * as Gemini from "./gemini.js"
import * as Ollama from "./ollama.js"
import * as OpenAI from "./openai.js"

const options = (request: ModelRequest.ModelRequest<any>) => ({
  model: request.model,
  headers: request.headers,
  timeout: request.timeout,
  firstChunkTimeout: request.firstChunkTimeout,
  idleTimeout: request.idleTimeout
})

/** Gemini (API or Vertex, or a Cloud Run service speaking it). @internal */
export const gemini = (client: GeminiClient.Service): ModelService.Service => {
  const backend = client.backend
  return {
    generate: (request) => {
      const context = { backend, model: request.model }
      return Effect.flatMap(
        client.generateContent(request.model, Gemini.encodeRequest(request), options(request)),
        (body) =>
          Gemini.normalise(context, body, body).pipe(
            Either.flatMap((response) => withValue(context, response, request.output))
          )
      )
    },
    stream: (request) =>
      Stream.suspend(() => client.streamGenerateContent(request.model, Gemini.encodeRequest(request), options(request))),
    countTokens: (request) => {
      const { contents, systemInstruction } = Gemini.encodeRequest(request)
      return Effect.map(
        client.countTokens(
          request.model,
          // the Gemini API's countTokens takes only contents; Vertex also systemInstruction
          backend === "gemini-vertex" ? { contents, systemInstruction } : { contents },
          options(request)
        ),
        (body) => body.totalTokens
      )
    }
  }
}

/** Ollama's `/api/chat`. @internal */
export const ollama = (client: OllamaClient.Service): ModelService.Service => {
  const backend = "ollama"
  return {
    generate: (request) => {
      const context = { backend, model: request.model } as const
      return Effect.flatMap(client.chat(Ollama.encodeRequest(request, false), options(request)), (body) =>
        Ollama.normalise(context, body, body).pipe(
          Either.flatMap((response) => withValue(context, response, request.output))
        ))
    },
    stream: (request) => Stream.suspend(() => client.chatStream(Ollama.encodeRequest(request, true), options(request))),
    countTokens: (request) =>
      Effect.fail(
        new ModelError.InvalidRequest({ backend, model: request.model, detail: "Ollama has no token counting endpoint" })
      )
  }
}

/** The OpenAI-compatible `/v1/chat/completions`. @internal */
export const openai = (client: OpenAICompatibleClient.Service): ModelService.Service => {
  const backend = "openai-compatible"
  return {
    generate: (request) => {
      const context = { backend, model: request.model } as const
      return Effect.flatMap(client.chatCompletions(OpenAI.encodeRequest(request, false), options(request)), (body) =>
        OpenAI.normalise(context, body, body).pipe(
          Either.flatMap((response) => withValue(context, response, request.output))
        ))
    },
    stream: (request) =>
      Stream.suspend(() => client.chatCompletionsStream(OpenAI.encodeRequest(request, true), options(request))),
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
