/**
 * The four wire protocols behind ModelService.Service.
 *
 * @internal
 */
import * as Sse from "@effect/experimental/Sse"
import * as Ndjson from "@effect/platform/Ndjson"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as ModelError from "../ModelError.js"
import type * as ModelRequest from "../ModelRequest.js"
import type { ModelService } from "../ModelService.js"
import { bodyStream, type Client } from "./client.js"
import { parseJson, withValue } from "./common.js"
import * as Gemini from "./gemini.js"
import * as Ollama from "./ollama.js"
import * as OpenAI from "./openai.js"

const options = (request: ModelRequest.ModelRequest<any>) => ({ headers: request.headers, timeout: request.timeout })

const sseData = (backend: ModelError.Backend, response: Parameters<typeof bodyStream>[1]) =>
  bodyStream(backend, response).pipe(
    Stream.decodeText(),
    Stream.pipeThroughChannel(Sse.makeChannel()),
    Stream.map((event) => event.data)
  )

/** Gemini (API or Vertex, or a Cloud Run service speaking it). @internal */
export const gemini = (
  client: Client,
  urlFor: (model: string, method: "generateContent" | "streamGenerateContent" | "countTokens") => string
): ModelService.Service => {
  const backend = client.backend
  const decode = Gemini.decodeResponse(backend)
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(
        client.postJson(urlFor(request.model, "generateContent"), Gemini.encodeRequest(request), options(request)),
        (json) =>
          decode(json).pipe(
            Either.flatMap((body) => Gemini.normalise(backend, body, json)),
            Either.flatMap((response) => withValue(backend, response, request.output))
          )
      ),
    stream: (request) =>
      Stream.unwrap(Effect.map(
        client.post(`${urlFor(request.model, "streamGenerateContent")}?alt=sse`, Gemini.encodeRequest(request), options(request)),
        (response) => {
          const state = new Gemini.StreamState(backend)
          return sseData(backend, response).pipe(
            Stream.mapEffect((data) =>
              Either.flatMap(parseJson(backend, data, "an SSE event"), (json) => Gemini.stepPayload(state, json))
            )
          )
        }
      )),
    countTokens: (request) => {
      const { contents, systemInstruction } = Gemini.encodeRequest(request)
      return Effect.flatMap(
        client.postJson(
          urlFor(request.model, "countTokens"),
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
export const ollama = (client: Client, baseUrl: string): ModelService.Service => {
  const backend = client.backend
  const url = `${baseUrl}/api/chat`
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(client.postJson(url, Ollama.encodeRequest(request, false), options(request)), (json) =>
        Ollama.decodeResponse(json).pipe(
          Either.flatMap((body) => Ollama.normalise(body, json)),
          Either.flatMap((response) => withValue(backend, response, request.output))
        )),
    stream: (request) =>
      Stream.unwrap(Effect.map(client.post(url, Ollama.encodeRequest(request, true), options(request)), (response) => {
        const state = new Ollama.StreamState()
        return bodyStream(backend, response).pipe(
          Stream.pipeThroughChannelOrFail(Ndjson.unpack({ ignoreEmptyLines: true })),
          Stream.mapError((error) =>
            ModelError.isModelError(error)
              ? error
              : new ModelError.Decode({ backend, detail: `a line of the NDJSON stream is not JSON: ${error.reason}`, cause: error })
          ),
          Stream.mapEffect((line) => state.step(line))
        )
      })),
    countTokens: () =>
      Effect.fail(new ModelError.InvalidRequest({ backend, detail: "Ollama has no token counting endpoint" }))
  }
}

/** The OpenAI-compatible `/v1/chat/completions`. @internal */
export const openai = (client: Client, baseUrl: string): ModelService.Service => {
  const backend = client.backend
  const url = `${baseUrl}/v1/chat/completions`
  return {
    backend,
    generate: (request) =>
      Effect.flatMap(client.postJson(url, OpenAI.encodeRequest(request, false), options(request)), (json) =>
        OpenAI.decodeResponse(json).pipe(
          Either.flatMap((body) => OpenAI.normalise(body, json)),
          Either.flatMap((response) => withValue(backend, response, request.output))
        )),
    stream: (request) =>
      Stream.unwrap(Effect.map(client.post(url, OpenAI.encodeRequest(request, true), options(request)), (response) => {
        const state = new OpenAI.StreamState()
        return sseData(backend, response).pipe(
          Stream.takeWhile((data) => data.trim() !== "[DONE]"),
          Stream.mapEffect((data) =>
            Either.flatMap(parseJson(backend, data, "an SSE event"), (json) => state.step(json))
          )
        )
      })),
    countTokens: () =>
      Effect.fail(
        new ModelError.InvalidRequest({ backend, detail: "the OpenAI-compatible API has no token counting endpoint" })
      )
  }
}
