/**
 * The model turn of a chat history, rebuilt from the chunks of a streamed answer.
 *
 * For the Gemini backends the parts are taken from each chunk's `raw` event, so that a
 * `thoughtSignature` (which Gemini may put on any part, often an empty text part at
 * the end) goes back on the next turn verbatim, on its own part; `ModelStreamChunk`
 * carries signatures only for tool calls. Plain text parts without a signature are
 * concatenated. For the other backends the turn is the answer's text.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as ModelError from "../../model/ModelError.js"
import * as ModelRequest from "../../model/ModelRequest.js"
import type * as ModelResponse from "../../model/ModelResponse.js"

/** The fields of a Gemini stream event we read. */
const GeminiEvent = Schema.Struct({
  candidates: Schema.optional(Schema.Array(Schema.Struct({
    content: Schema.optional(Schema.Struct({
      parts: Schema.optional(Schema.Array(Schema.Struct({
        text: Schema.optional(Schema.String),
        thought: Schema.optional(Schema.Boolean),
        thoughtSignature: Schema.optional(Schema.String),
        functionCall: Schema.optional(Schema.Unknown)
      })))
    }))
  })))
})

const decodeEvent = Schema.decodeUnknownEither(GeminiEvent)

/** Accumulates one answer. @internal */
export class Turn {
  private readonly parts: Array<ModelRequest.Part> = []
  private text = ""
  constructor(private readonly backend: ModelError.Backend) {}

  private get gemini() {
    return this.backend === "gemini-vertex" || this.backend === "gemini-api"
  }

  private pushText(part: ModelRequest.TextPart) {
    const last = this.parts.at(-1)
    if (
      last !== undefined && last._tag === "text" && last.thoughtSignature === undefined &&
      part.thoughtSignature === undefined && last.thought === part.thought
    ) {
      this.parts[this.parts.length - 1] = { ...last, text: last.text + part.text }
    } else {
      this.parts.push(part)
    }
  }

  /** Adds a chunk. */
  add(chunk: ModelResponse.ModelStreamChunk): void {
    this.text += chunk.textDelta
    if (this.gemini) {
      const event = decodeEvent(chunk.raw)
      if (Either.isRight(event)) {
        for (const part of event.right.candidates?.[0]?.content?.parts ?? []) {
          if (part.functionCall !== undefined || part.text === undefined) continue
          if (part.text === "" && part.thoughtSignature === undefined) continue
          this.pushText(ModelRequest.TextPart.make({
            text: part.text,
            ...(part.thought === undefined ? {} : { thought: part.thought }),
            ...(part.thoughtSignature === undefined ? {} : { thoughtSignature: part.thoughtSignature })
          }))
        }
      } else if (chunk.textDelta !== "") {
        this.pushText(ModelRequest.TextPart.make({ text: chunk.textDelta }))
      }
    }
    for (const call of chunk.toolCalls) {
      this.parts.push(ModelRequest.FunctionCallPart.make({
        id: call.id,
        name: call.name,
        args: { ...call.args },
        ...(call.thoughtSignature === undefined ? {} : { thoughtSignature: call.thoughtSignature })
      }))
    }
  }

  /** The model turn for the history. */
  content(): ModelRequest.Content {
    if (this.gemini) return { role: "model", parts: this.parts }
    return { role: "model", parts: [ModelRequest.TextPart.make({ text: this.text }), ...this.parts] }
  }
}
