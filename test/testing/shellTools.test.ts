/**
 * `effect-adc emulator --write-env` from a shell, as docs/cli.md shows it: the env
 * file appears once the servers are up, sourcing it keeps HOME and lets curl reach
 * other hosts (the proxy intercepts only Google's auth hosts), and curl and Python
 * google-auth — Debian's 1.5 (padded JWT assertions) and a current 2.x — get access
 * and ID tokens through the metadata server, a key file and user credentials.
 * The tools are installed by .ci/run; a missing one fails this test.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loopbackTls } from "../support/tls.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = join(root, "bin/effect-adc.mjs")
const script = join(root, "test/testing/tools/emulator-shell.sh")

const hasGcloud = (process.env["PATH"] ?? "").split(":").some((dir) => existsSync(join(dir, "gcloud")))
let outside: Https.Server
let outsideUrl = ""

beforeAll(async () => {
  const { cert, key } = loopbackTls({ subject: "outside", trust: false })
  outside = Https.createServer({ key, cert }, (_req, res) => {
    res.end("outside")
  })
  await new Promise<void>((resolve) => outside.listen(0, "127.0.0.1", resolve))
  outsideUrl = `https://127.0.0.1:${(outside.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((resolve) => outside.close(() => resolve())))

interface PythonChecks {
  readonly version: string
  readonly home: string
  readonly [check: string]: unknown
}

describe("the emulator from a shell", () => {
  it(
    "env file, HOME kept, other hosts reachable; curl and Python google-auth (Debian 1.5 and current) get both token kinds",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "effect-adc-shell-"))
      const home = mkdtempSync(join(tmpdir(), "effect-adc-home-"))
      const envFile = join(dir, "emulator.env")
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          "bash",
          [script, bin, envFile, outsideUrl],
          {
            cwd: root,
            timeout: 120_000,
            env: { PATH: process.env["PATH"] ?? "", HOME: home, NODE: process.execPath }
          },
          (error, stdout, stderr) =>
            error === null ? resolve(stdout) : reject(new Error(`${String(error)}\n${stdout}\n${stderr}`))
        )
      })
      const line = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(output)?.[1]
      expect(line("home_kept")).toBe("yes")
      expect(line("metadata_root")).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(line("curl_metadata_id")).toBe("0")
      expect(line("curl_service_status")).toBe("200")
      expect(line("curl_tokeninfo_status")).toBe("200")
      expect(line("curl_other_host")).toBe("outside exit=0")
      expect(line("env_file_removed")).toBe("yes")

      const current = JSON.parse(line("python_current") ?? "{}") as PythonChecks
      const debian = JSON.parse(line("python_debian") ?? "{}") as PythonChecks
      expect(current.version).toMatch(/^2\./)
      expect(debian.version).toBe("1.x")
      for (const checks of [current, debian]) {
        expect(checks.home).toBe(home)
        expect(checks["metadata_project"]).toBe("emulator-project")
        expect(checks["metadata_access"]).toEqual({ kind: "access", status: null })
        expect(checks["key_access"]).toEqual({ kind: "access", status: null })
        expect(checks["key_id"]).toEqual({ kind: "id", status: 200 })
        expect(checks["user_access"]).toEqual({ kind: "access", status: null })
      }
      // where gcloud is installed, `gcloud auth print-identity-token` works from the sourced env
      if (hasGcloud) expect(line("gcloud_id_token")).toBe("eyJ")
      // ID tokens from the metadata server need google-auth >= 1.7 (fetch_id_token)
      expect(current["metadata_id"]).toEqual({ kind: "id", status: 200 })
    },
    120_000
  )
})
