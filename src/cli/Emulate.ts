/**
 * `effect-adc emulator`: the local Google Cloud emulator as a standalone process. It
 * prints, as `export` lines on stdout, the environment that points any client at it
 * (Node, Python, gcloud, curl): the metadata server, the HTTPS proxy for Google's
 * auth hosts with its certificate authority, the project and an empty gcloud
 * config; with `--write-env PATH` it also writes them to PATH once every server is up
 * (and removes the file when it stops); then it runs until interrupted.
 *
 * Sourcing the lines is safe for the rest of the shell: `HOME` is left alone, and
 * the proxy intercepts only Google's auth hosts; a `CONNECT` to any other host is
 * tunnelled untouched, so curl, pip or npm keep working (docs/cli.md#emulator).
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
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
    // Python's requests / google-auth, OpenSSL and curl: public roots plus the emulator's authority
    REQUESTS_CA_BUNDLE: emulator.proxy.caBundleFile,
    SSL_CERT_FILE: emulator.proxy.caBundleFile,
    CURL_CA_BUNDLE: emulator.proxy.caBundleFile
  }
  // the user's shell keeps its HOME (CLOUDSDK_CONFIG already hides gcloud's files) and its ADC file choice
  delete env["HOME"]
  delete env["GOOGLE_APPLICATION_CREDENTIALS"]
  return [
    ...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`),
    `# credential files: GOOGLE_APPLICATION_CREDENTIALS=${quote(files.serviceAccountKey)} or ${
      quote(files.authorizedUser)
    }`,
    `# a private Cloud Run service that echoes requests: ${service.url}`
  ]
}

/** Writes `text` to `path` in one step (a reader polling for the file never sees half of it). */
const writeAtomically = (path: string, text: string) =>
  Effect.promise(async () => {
    const temporary = `${path}.${process.pid}.tmp`
    await Fs.writeFile(temporary, text, { mode: 0o600 })
    await Fs.rename(temporary, path)
  })

const remove = (path: string) => Effect.promise(() => Fs.rm(path, { force: true }))

/**
 * Starts the emulator and an echo service, prints the environment (and writes it
 * to `envFile`), and waits.
 *
 * @since 0.1.0
 * @category Entry points
 */
export const emulate = (
  options: { readonly tokenLifetimeSeconds?: number; readonly envFile?: string | undefined } = {}
) =>
  Effect.gen(function*() {
    // a file left by an earlier run must not be read as this one's
    if (options.envFile !== undefined) yield* remove(options.envFile)
    const emulator = yield* Emulator.make({
      proxyPassThrough: true,
      ...(options.tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds: options.tokenLifetimeSeconds })
    })
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
    const lines = exportLines(emulator, files, service)
    for (const line of lines) yield* Console.log(line)
    if (options.envFile !== undefined) {
      const envFile = options.envFile
      yield* Effect.acquireRelease(writeAtomically(envFile, `${lines.join("\n")}\n`), () => remove(envFile))
    }
    yield* Console.error("effect-adc emulator: running on loopback; Ctrl-C stops it.")
    return yield* Effect.never
  }).pipe(Effect.scoped)
