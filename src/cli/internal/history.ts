/**
 * The model turn of a chat history, folded from the chunks of a streamed answer with
 * `ModelResponse.fromChunks`: the same content parts `generate` returns (text with
 * its thought signature on its own part, thoughts, tool calls with ids and
 * signatures), whichever backend or Router route answered. No wire format is read
 * here.
 *
 * @internal
 */
import type * as ModelRequest from "../../model/ModelRequest.js"
import * as ModelResponse from "../../model/ModelResponse.js"

/** Accumulates one answer. @internal */
export class Turn {
  private readonly chunks: Array<ModelResponse.ModelStreamChunk> = []

  /** Adds a chunk. */
  add(chunk: ModelResponse.ModelStreamChunk): void {
    this.chunks.push(chunk)
  }

  /** The model turn for the history. */
  content(): ModelRequest.Content {
    return ModelResponse.fromChunks(this.chunks).content
  }
}
