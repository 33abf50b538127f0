/**
 * `ModelResponse.fromChunks` folds a stream into the response `generate` returns for
 * the same answer: property-tested with fast-check on the Gemini protocol (the richest
 * parts: text with and without thought signatures, thoughts, function calls with and
 * without ids and signatures, inline data), the answer served whole to `generate`'s
 * normalisation and split into stream events at arbitrary points for the stream.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import * as Decoder from "../../src/model/internal/stream.js"
import * as ModelResponse from "../../src/model/ModelResponse.js"

type WirePart = Record<string, unknown>

const text = FastCheck.string({ minLength: 1, maxLength: 12, unit: "grapheme" })
const wirePart: FastCheck.Arbitrary<WirePart> = FastCheck.oneof(
  FastCheck.record({ text }),
  FastCheck.record({ text, thought: FastCheck.constant(true) }),
  FastCheck.record({
    text: FastCheck.oneof(text, FastCheck.constant("")),
    thoughtSignature: FastCheck.base64String({ minLength: 4, maxLength: 8 })
  }),
  FastCheck.record({
    inlineData: FastCheck.record({
      mimeType: FastCheck.constant("image/png"),
      data: FastCheck.base64String({ minLength: 4, maxLength: 8 })
    })
  }),
  FastCheck.record(
    {
      functionCall: FastCheck.record(
        {
          id: FastCheck.stringMatching(/^[a-z0-9]{3,6}$/),
          name: FastCheck.stringMatching(/^[a-z_]{1,8}$/),
          args: FastCheck.dictionary(FastCheck.stringMatching(/^[a-z]{1,4}$/), FastCheck.integer())
        },
        { requiredKeys: ["name", "args"] }
      ),
      thoughtSignature: FastCheck.base64String({ minLength: 4, maxLength: 8 })
    },
    { requiredKeys: ["functionCall"] }
  )
)

const answer = FastCheck.record({
  parts: FastCheck.array(wirePart, { maxLength: 6 }),
  finishReason: FastCheck.constantFrom("STOP", "MAX_TOKENS", "SAFETY", "RECITATION"),
  cuts: FastCheck.array(FastCheck.nat({ max: 11 }), { maxLength: 6 })
})

/** The parts as stream events: unsigned text split at the cuts, other parts whole; the finish on the last event. */
const events = (parts: ReadonlyArray<WirePart>, finishReason: string, cuts: ReadonlyArray<number>) => {
  const pieces: Array<WirePart> = []
  parts.forEach((part, i) => {
    const cut = cuts[i] ?? 0
    if (
      typeof part["text"] === "string" && part["thoughtSignature"] === undefined && cut > 0 && cut < part["text"].length
    ) {
      const chars = [...part["text"]]
      pieces.push({ ...part, text: chars.slice(0, cut).join("") }, { ...part, text: chars.slice(cut).join("") })
    } else {
      pieces.push(part)
    }
  })
  const usageMetadata = { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 }
  const bodies: Array<Record<string, unknown>> = pieces.map((part) => ({
    candidates: [{ content: { role: "model", parts: [part] } }],
    modelVersion: "m"
  }))
  bodies.push({
    candidates: [{
      content: { role: "model", parts: [] },
      finishReason,
      finishMessage: "done",
      safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "LOW" }]
    }],
    usageMetadata,
    modelVersion: "m",
    responseId: "r1"
  })
  return bodies.map((body) => `data: ${JSON.stringify(body)}\n\n`).join("")
}

const withoutRaw = ({ raw: _raw, ...rest }: ModelResponse.ModelResponse) => JSON.parse(JSON.stringify(rest))

describe("ModelResponse.fromChunks", () => {
  it("folds a stream into what generate returns for the same answer (property)", () => {
    FastCheck.assert(
      FastCheck.property(answer, ({ parts, finishReason, cuts }) => {
        const context = { backend: "gemini-api" as const }
        const whole = {
          candidates: [{
            content: { role: "model", parts },
            finishReason,
            finishMessage: "done",
            safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "LOW" }]
          }],
          usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 },
          modelVersion: "m",
          responseId: "r1"
        }
        const generated = Either.getOrThrow(
          Either.flatMap(Gemini.decodeResponse(context, whole), (body) => Gemini.normalise(context, body, whole))
        )
        const chunks = Effect.runSync(
          Stream.make(new TextEncoder().encode(events(parts, finishReason, cuts))).pipe(
            Decoder.decode(Decoder.sse, () => new Gemini.StreamState(context)),
            Stream.runCollect
          )
        )
        const streamed = ModelResponse.fromChunks(chunks)
        expect(withoutRaw(streamed)).toEqual(withoutRaw(generated))
      }),
      { numRuns: 300 }
    )
  })

  it("a filtered answer keeps its content, on both paths", () => {
    const context = { backend: "gemini-vertex" as const }
    const whole = {
      candidates: [{
        content: { role: "model", parts: [{ text: "The first verse" }] },
        finishReason: "RECITATION",
        finishMessage: "recited",
        groundingMetadata: { webSearchQueries: ["q"] }
      }],
      usageMetadata: { promptTokenCount: 2, totalTokenCount: 9 }
    }
    const generated = Either.getOrThrow(
      Either.flatMap(Gemini.decodeResponse(context, whole), (body) => Gemini.normalise(context, body, whole))
    )
    expect(generated).toMatchObject({
      text: "The first verse",
      finishReason: "content-filter",
      rawFinishReason: "RECITATION",
      finishMessage: "recited",
      groundingMetadata: { webSearchQueries: ["q"] },
      usage: { inputTokens: 2, totalTokens: 9 }
    })
  })

  it("only a prompt blocked with no candidate is an error, with its block reason and usage", () => {
    const context = { backend: "gemini-api" as const }
    const body = {
      promptFeedback: { blockReason: "SAFETY" },
      usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 }
    }
    const result = Either.flatMap(
      Gemini.decodeResponse(context, body),
      (decoded) => Gemini.normalise(context, decoded, body)
    )
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result) && result.left._tag === "ContentBlocked") {
      expect(result.left.blockReason).toBe("SAFETY")
      expect(result.left.usage?.inputTokens).toBe(7)
    } else {
      throw new Error("expected ContentBlocked")
    }
  })
})
