/**
 * Bench child processes run with tsx: the parent reads the first JSON line the child
 * prints; the child exits when its stdin closes (the parent closed it, or died), so no
 * server outlives a bench run.
 */
import { type ChildProcess, spawn } from "node:child_process"

/** A child process running `script` with tsx; resolves with the JSON it prints first. */
export const spawnTsx = async <A>(
  script: string,
  args: ReadonlyArray<string> = [],
  env: NodeJS.ProcessEnv = process.env
): Promise<{ readonly value: A; readonly child: ChildProcess; readonly close: () => Promise<void> }> => {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    env,
    // the child exits when its stdin closes: when we close it, or when this process dies
    stdio: ["pipe", "pipe", "inherit"]
  })
  const value = await new Promise<A>((resolve, reject) => {
    let buffer = ""
    const onData = (data: Buffer) => {
      buffer += data.toString("utf8")
      const nl = buffer.indexOf("\n")
      if (nl >= 0) {
        child.stdout!.off("data", onData)
        try {
          resolve(JSON.parse(buffer.slice(0, nl)) as A)
        } catch (error) {
          reject(error)
        }
      }
    }
    child.stdout!.on("data", onData)
    child.once("exit", (code) => reject(new Error(`${script} exited (${code}) before it was ready`)))
  })
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.stdin!.end()
    })
  return { value, child, close }
}

/** In a child of {@link spawnTsx}: exit when the parent closes our stdin (or dies). */
export const exitWithParent = () => {
  process.stdin.resume()
  process.stdin.once("end", () => process.exit(0))
  process.stdin.once("error", () => process.exit(0))
}
