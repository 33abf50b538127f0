/**
 * ModelService over the Gemini wire client (the Gemini API, Vertex AI, or a Cloud Run
 * service speaking the protocol): encode the request, normalise the decoded answer.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { callOptions, withValue } from "../../internal/common.js"
import * as Features from "../../internal/features.js"
import type * as Telemetry from "../../internal/telemetry.js"
import type * as ModelRequest from "../../ModelRequest.js"
import type { ModelService } from "../../ModelService.js"
import type { GeminiClient } from "../GeminiClient.js"
import * as Gemini from "./protocol.js"

/** The wire body: the request encoded, `providerOptions.gemini` merged in. */
const body = <A>(request: ModelRequest.ModelRequest<A>): Gemini.GenerateContentRequest =>
  Features.passThrough(Gemini.encodeRequest(request), request.providerOptions?.gemini)

/** @internal */
export const gemini = (client: GeminiClient.Service): ModelService.Service => {
  const backend = client.backend
  return {
    generate: (request) => {
      const context = { backend, model: request.model }
      return Effect.flatMap(Features.check(context, request, Gemini.rules), (request) =>
        Effect.flatMap(
          client.generateContent(request.model, body(request), callOptions(request)),
          (body) =>
            Gemini.normalise(context, body, body).pipe(
              Either.flatMap((response) => withValue(context, response, request.output))
            )
        ))
    },
    stream: (request) =>
      Stream.suspend(() =>
        Either.match(Features.check({ backend, model: request.model }, request, Gemini.rules), {
          onLeft: Stream.fail,
          onRight: (request) => client.streamGenerateContent(request.model, body(request), callOptions(request))
        })
      ),
    countTokens: (request) => {
      const { contents, systemInstruction } = Gemini.encodeRequest(request)
      return Effect.map(
        client.countTokens(
          request.model,
          // the Gemini API's countTokens takes only contents; Vertex also systemInstruction
          backend === "gemini-vertex" ? { contents, systemInstruction } : { contents },
          callOptions(request)
        ),
        (body) => body.totalTokens
      )
    }
  }
}

/** Telemetry's view of a Gemini client: Vertex AI or the Gemini API, `generate_content`. @internal */
export const geminiTelemetry = (client: GeminiClient.Service): Telemetry.Provider => ({
  name: client.backend === "gemini-vertex" ? "gcp.vertex_ai" : "gcp.gemini",
  operation: "generate_content",
  url: client.url,
  // Gemini's candidatesTokenCount leaves the thoughts out
  reasoningOutside: true
})
