/**
 * The `effect-adc` CLI as a subprocess in tests: its entry, an environment with no
 * credentials to find, a one-shot runner, and `effect-adc emulator` started in the
 * background with the environment it prints.
 */
import { type ChildProcessByStdio, execFile, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

/** The CLI entry, `bin/effect-adc.mjs`. */
export const bin = fileURLToPath(new URL("../../bin/effect-adc.mjs", import.meta.url))

/** What a finished CLI run printed and its exit code. */
export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Nothing to find: no metadata server, no gcloud files (an empty temporary directory,
 * named with `prefix`, as HOME and CLOUDSDK_CONFIG), no key file.
 */
export const noCredentials = (prefix: string) => {
  const empty = mkdtempSync(join(tmpdir(), prefix))
  return {
    GCE_METADATA_HOST: "127.0.0.1:1",
    GCE_METADATA_IP: "127.0.0.1:1",
    METADATA_SERVER_DETECTION: "none",
    HOME: empty,
    CLOUDSDK_CONFIG: empty
  }
}

/** Runs the CLI once with exactly `env` (plus PATH) and resolves when it exits, never rejects. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<CliResult> =>
  new Promise<CliResult>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
      }
    )
  })

/** A running `effect-adc emulator` process, what it printed, and the `export` lines as variables. */
export interface EmulatorProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly stdout: string
  readonly env: Record<string, string>
}

/**
 * Starts `effect-adc emulator …args` with `env` (plus PATH) and resolves once it has
 * printed its environment; the caller kills `child` when done.
 */
export const startEmulatorProcess = async (
  args: ReadonlyArray<string>,
  env: Record<string, string>
): Promise<EmulatorProcess> => {
  const child = spawn(process.execPath, [bin, "emulator", ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes("# a private Cloud Run service")) resolve()
      })
      child.on("exit", () => reject(new Error(`emulator exited early: ${stdout}`)))
    })
  } catch (error) {
    child.kill("SIGINT")
    throw error
  }
  const printed = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""])
  )
  return { child, stdout, env: printed }
}
