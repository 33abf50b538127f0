/**
 * Gemma behind vLLM's OpenAI-compatible server on a private Cloud Run service: the ID
 * token travels in `X-Serverless-Authorization`, so `Authorization` stays free for the
 * server's own `--api-key` when it has one.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/model-vllm.ts     # against the local emulators
 *   VLLM_URL=https://… npx tsx examples/model-vllm.ts    # against your Cloud Run service
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ModelRequest from "../src/model/ModelRequest.js"
import { ModelService } from "../src/model/ModelService.js"
import * as OpenAICompatible from "../src/model/openai/OpenAICompatible.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const model = process.env["VLLM_MODEL"] ?? "google/gemma-3-4b-it"

/** The example program; returns what it printed. */
export const program = Effect.gen(function*() {
  const service = yield* ModelService
  const { lines, say } = printer()
  const answer = yield* service.generate({
    model,
    system: "Answer briefly.",
    contents: [ModelRequest.user("What is Cloud Run?")]
  })
  yield* say(`generate: ${answer.text}`)
  const chunks = yield* service.stream({ model, contents: [ModelRequest.user("Name three colours")] }).pipe(
    Stream.runCollect
  )
  const text = Array.from(chunks, (chunk) => chunk.textDelta).join("")
  const finish = Array.from(chunks).find((chunk) => chunk.finishReason !== undefined)?.finishReason
  yield* say(`stream: ${text} (${finish})`)
  return lines
})

/** The layer: the OpenAI-compatible backend over AuthService. */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) =>
    OpenAICompatible.layer({ url: e.vllmUrl, header: "X-Serverless-Authorization" }).pipe(
      Layer.provide(baseLayer(e.auth))
    ))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
