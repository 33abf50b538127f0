/**
 * The README's quickstart: one Gemini call with no API key. The backend comes from the
 * environment (`EFFECT_ADC_MODEL_BACKEND`, `GOOGLE_CLOUD_PROJECT`, … — docs/models.md),
 * the token from Application Default Credentials.
 *
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx examples/quickstart.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AuthService from "../src/auth/AuthService.js"
import * as UndiciHttpClient from "../src/http/UndiciHttpClient.js"
import * as ModelConfig from "../src/model/ModelConfig.js"
import * as ModelRequest from "../src/model/ModelRequest.js"
import { ModelService } from "../src/model/ModelService.js"

/** Ask once, print the answer. */
export const program = Effect.gen(function*() {
  const model = yield* ModelService
  const answer = yield* model.generate({
    model: "gemini-2.5-flash",
    contents: [ModelRequest.user("Why is the sky blue?")]
  })
  yield* Effect.log(answer.text)
  return answer.text
})

/** ModelService from the environment, over ADC and Node's HTTP client. */
export const ModelLive = ModelConfig.layerConfig.pipe(
  Layer.provide(AuthService.layerConfig()),
  Layer.provide(UndiciHttpClient.layer)
)

// runMain logs a failure as one short entry (the error's message, which says what to
// do: no credentials prints the `gcloud auth application-default login` hint), sets the
// exit code to 1 and interrupts the program on Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(ModelLive)))
}
