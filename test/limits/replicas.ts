/**
 * Replicas as separate processes: test/limits/replica.ts bundled once per file with
 * esbuild into one file (its packages included: it starts in about a second), each replica a `node`
 * child with the emulator's environment. They are started together, wait until every
 * one has warmed its token, then all get "go" at once.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll } from "vitest"
import type { ReplicaConfig } from "./replica.js"

export type ReplicaLine =
  | { readonly ready: true }
  | { readonly sent: number }
  | { readonly checked: number }
  | { readonly cooled: number; readonly millis: number }
  | { readonly status: number; readonly received: number }
  | {
    readonly call: number
    readonly ok: boolean
    readonly started: number
    readonly ended: number
    readonly error?: string
    readonly reason?: string
  }
  | { readonly done: true }
  | { readonly fatal: string }

export interface ReplicaRun {
  readonly id: string
  readonly lines: ReadonlyArray<ReplicaLine>
  /** Everything else it printed (logs). */
  readonly other: string
}

const root = Path.resolve(import.meta.dirname, "../..")

/** Bundles the replica script for this file's tests; `run` starts a set of replicas. */
export const useReplicas = () => {
  let bundle: string | undefined
  beforeAll(async () => {
    const esbuild = await import("esbuild")
    await Fs.mkdir(Path.join(root, ".tmp"), { recursive: true })
    bundle = Path.join(root, ".tmp", `limits-replica-${process.pid}-${Date.now()}.mjs`)
    await esbuild.build({
      entryPoints: [Path.join(import.meta.dirname, "replica.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: bundle,
      logLevel: "error",
      // one file loads in a fraction of the time of effect's hundreds of modules; the CommonJS
      // packages inside (google-auth-library, ioredis) need a `require`
      banner: {
        js:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
      }
    })
  })
  afterAll(async () => {
    if (bundle !== undefined) await Fs.rm(bundle, { force: true })
  })

  const run = (
    env: Readonly<Record<string, string>>,
    configs: ReadonlyArray<ReplicaConfig>,
    timeoutMs = 60_000
  ): Promise<ReadonlyArray<ReplicaRun>> => {
    if (bundle === undefined) throw new Error("the replica bundle is built in beforeAll")
    const script = bundle
    let readyCount = 0
    const children: Array<ChildProcess.ChildProcess> = []
    const runs = configs.map((config) =>
      new Promise<ReplicaRun>((resolve, reject) => {
        const child = ChildProcess.spawn(process.execPath, [script], {
          cwd: root,
          env: {
            ...process.env,
            ...env,
            REPLICA: JSON.stringify(config),
            GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS: "true"
          },
          stdio: ["pipe", "pipe", "pipe"]
        })
        children.push(child)
        const lines: Array<ReplicaLine> = []
        let other = ""
        let buffer = ""
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          reject(new Error(`replica ${config.id} did not finish in ${timeoutMs} ms:\n${other}`))
        }, timeoutMs)
        child.stdout.on("data", (data: Buffer) => {
          buffer += data.toString()
          let newline = buffer.indexOf("\n")
          while (newline >= 0) {
            const line = buffer.slice(0, newline)
            buffer = buffer.slice(newline + 1)
            if (line.startsWith("@@ ")) {
              const parsed: ReplicaLine = JSON.parse(line.slice(3))
              lines.push(parsed)
              if ("ready" in parsed && ++readyCount === configs.length) {
                for (const c of children) c.stdin?.write("go\n")
              }
            } else {
              other += `${line}\n`
            }
            newline = buffer.indexOf("\n")
          }
        })
        child.stderr.on("data", (data: Buffer) => {
          other += data.toString()
        })
        child.once("exit", (code) => {
          clearTimeout(timer)
          if (code === 0) resolve({ id: config.id, lines, other })
          else reject(new Error(`replica ${config.id} exited with ${code}:\n${other}\n${JSON.stringify(lines)}`))
        })
      })
    )
    return Promise.all(runs).finally(() => {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
    })
  }
  return { run }
}

/** The model requests a replica sent (wall-clock times). */
export const sends = (run: ReplicaRun): ReadonlyArray<number> =>
  run.lines.flatMap((line) => "sent" in line ? [line.sent] : [])

/** The 429s a replica received (wall-clock times). */
export const throttled = (run: ReplicaRun): ReadonlyArray<number> =>
  run.lines.flatMap((line) => "status" in line && line.status === 429 ? [line.received] : [])

/**
 * Each model request a replica sent, with the time its last cooldown read before it
 * started (what it could know when it decided to send).
 */
export const decidedSends = (run: ReplicaRun): ReadonlyArray<{ readonly sent: number; readonly checked: number }> => {
  let checked = 0
  return run.lines.flatMap((line) => {
    if ("checked" in line) checked = line.checked
    return "sent" in line ? [{ sent: line.sent, checked }] : []
  })
}

/** When a replica's cooldown writes were done, in order. */
export const cooled = (run: ReplicaRun): ReadonlyArray<number> =>
  run.lines.flatMap((line) => "cooled" in line ? [line.cooled] : [])

/** The replica's calls. */
export const calls = (run: ReplicaRun) => run.lines.flatMap((line) => "call" in line ? [line] : [])
