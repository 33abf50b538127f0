/**
 * `effect-adc emulator`: the local Google Cloud emulator as a standalone process. It
 * prints, as `export` lines on stdout, the environment that points any client at it
 * (Node, Python, gcloud-free): the metadata server, the HTTPS proxy for Google's
 * hosts with its certificate authority, and credential files; then runs until
 * interrupted.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Emulator from "../testing/Emulator.js"

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`

/**
 * The `export` lines for an emulator.
 *
 * @since 0.1.0
 * @category Printing
 */
export const exportLines = (
  emulator: Emulator.EmulatorHandle,
  files: { readonly serviceAccountKey: string; readonly authorizedUser: string },
  service: { readonly url: string }
): ReadonlyArray<string> => {
  const env: Record<string, string> = {
    ...emulator.env,
    ...emulator.proxy.env,
    // Python's requests / google-auth trust this bundle.
    REQUESTS_CA_BUNDLE: emulator.proxy.caFile,
    SSL_CERT_FILE: emulator.proxy.caFile
  }
  delete env["GOOGLE_APPLICATION_CREDENTIALS"]
  return [
    ...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`),
    `# credential files: GOOGLE_APPLICATION_CREDENTIALS=${quote(files.serviceAccountKey)} or ${quote(files.authorizedUser)}`,
    `# a private Cloud Run service that echoes requests: ${service.url}`
  ]
}

/**
 * Starts the emulator and an echo service, prints the environment, and waits.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const emulate = (options: { readonly tokenLifetimeSeconds?: number } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.make(
      options.tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds: options.tokenLifetimeSeconds }
    )
    const service = yield* Effect.promise(() =>
      emulator.cloudRun.deploy({
        name: "echo",
        handler: (req, res) => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ method: req.method, path: req.url }))
        }
      })
    )
    const files = {
      serviceAccountKey: yield* Effect.promise(() => emulator.credentials.writeServiceAccountKey()),
      authorizedUser: yield* Effect.promise(() => emulator.credentials.writeAuthorizedUser())
    }
    for (const line of exportLines(emulator, files, service)) yield* Console.log(line)
    yield* Console.error("effect-adc emulator: running on loopback; Ctrl-C stops it.")
    return yield* Effect.never
  }).pipe(Effect.scoped)
