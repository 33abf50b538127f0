/**
 * The signing proxy in its own process, as `effect-adc proxy` runs it (SigningProxy with
 * AuthService from ADC: here the emulator's metadata server through the environment).
 * Argument: the route table as JSON. Prints `{"url": …}`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AuthService from "../src/auth/AuthService.js"
import * as ProxyConfig from "../src/proxy/ProxyConfig.js"
import * as SigningProxy from "../src/proxy/SigningProxy.js"
import { exitWithParent } from "./child.js"

const program = Effect.gen(function*() {
  const config = yield* ProxyConfig.decode(JSON.parse(process.argv[2] ?? "{}"))
  const proxy = yield* SigningProxy.make(config)
  process.stdout.write(JSON.stringify({ url: proxy.url }) + "\n")
  return yield* Effect.never
})

exitWithParent()
Effect.runFork(
  Effect.scoped(program).pipe(
    Effect.provide(AuthService.layer().pipe(Layer.orDie)),
    Effect.tapErrorCause(Effect.logError),
    Effect.ensuring(Effect.sync(() => process.exit(1)))
  )
)
