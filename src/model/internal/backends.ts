/**
 * ModelService over each low-level wire client: encode the request, decode the wire
 * body with Schema, normalise.
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

const options = (request: ModelRequest.ModelRequest<any>) => ({ headers: request.headers, timeout: request.timeout })

/** Gemini (API or Vertex, or a Cloud Run service speaking it). @internal */
export const gemini = (client: GeminiClient.Service): ModelService.Service => {
  const backend = client.backend
  const decode = Gemini.decodeResponse(backend)
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(
        client.generateContent(request.model, Gemini.encodeRequest(request), options(request)),
        (json) =>
          decode(json).pipe(
            Either.flatMap((body) => Gemini.normalise(backend, body, json)),
            Either.flatMap((response) => withValue(backend, response, request.output))
          )
      ),
    stream: (request) =>
      Stream.suspend(() => {
        const state = new Gemini.StreamState(backend)
        return client.streamGenerateContent(request.model, Gemini.encodeRequest(request), options(request)).pipe(
          Stream.mapEffect((json) => Gemini.stepPayload(state, json))
        )
      }),
    countTokens: (request) => {
      const { contents, systemInstruction } = Gemini.encodeRequest(request)
      return Effect.flatMap(
        client.countTokens(
          request.model,
          // the Gemini API's countTokens takes only contents; Vertex also systemInstruction
          backend === "gemini-vertex" ? { contents, systemInstruction } : { contents },
          options(request)
        ),
        (json) => Either.map(Gemini.decodeCountTokens(backend)(json), (body) => body.totalTokens)
      )
    }
  }
}

/** Ollama's `/api/chat`. @internal */
export const ollama = (client: OllamaClient.Service): ModelService.Service => {
  const backend = "ollama"
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(client.chat(Ollama.encodeRequest(request, false), options(request)), (json) =>
        Ollama.decodeResponse(json).pipe(
          Either.flatMap((body) => Ollama.normalise(body, json)),
          Either.flatMap((response) => withValue(backend, response, request.output))
        )),
    stream: (request) =>
      Stream.suspend(() => {
        const state = new Ollama.StreamState()
        return client.chatStream(Ollama.encodeRequest(request, true), options(request)).pipe(
          Stream.mapEffect((line) => state.step(line))
        )
      }),
    countTokens: () =>
      Effect.fail(new ModelError.InvalidRequest({ backend, detail: "Ollama has no token counting endpoint" }))
  }
}

/** The OpenAI-compatible `/v1/chat/completions`. @internal */
export const openai = (client: OpenAICompatibleClient.Service): ModelService.Service => {
  const backend = "openai-compatible"
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(client.chatCompletions(OpenAI.encodeRequest(request, false), options(request)), (json) =>
        OpenAI.decodeResponse(json).pipe(
          Either.flatMap((body) => OpenAI.normalise(body, json)),
          Either.flatMap((response) => withValue(backend, response, request.output))
        )),
    stream: (request) =>
      Stream.suspend(() => {
        const state = new OpenAI.StreamState()
        return client.chatCompletionsStream(OpenAI.encodeRequest(request, true), options(request)).pipe(
          Stream.mapEffect((json) => state.step(json))
        )
      }),
    countTokens: () =>
      Effect.fail(
        new ModelError.InvalidRequest({ backend, detail: "the OpenAI-compatible API has no token counting endpoint" })
      )
  }
}
