import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { bin, noCredentials as noCredentialsIn, runCli, startEmulatorProcess } from "../support/cli.js"
import { useEmulator } from "../support/emulator.js"

// The CLI as a subprocess against the emulator's metadata server (reached through
// GCE_METADATA_HOST, as on Cloud Run).

const emulator = useEmulator()

/** Nothing to find: no metadata server, no gcloud files, no key file. */
const noCredentials = noCredentialsIn("effect-adc-cli-")

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => runCli(args, { ...emulator.env, ...env })

describe("effect-adc doctor", () => {
  it("metadata server: every check passes, no secret printed", async () => {
    const result = await cli(["doctor", "--audience", "https://svc-abc-uc.a.run.app"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("✓ ADC source: metadata")
    expect(result.stdout).toContain(`✓ principal: ${emulator.serviceAccount.email}`)
    expect(result.stdout).toContain("✓ ID token: minted for https://svc-abc-uc.a.run.app")
    expect(result.stdout).toMatch(/✓ clock skew: -?\d+ s/)
    expect(result.stdout).not.toMatch(/ya29\.|eyJ/)
  })

  it("service-account key through the emulator's HTTPS proxy seam", async () => {
    const keyFile = await emulator.credentials.writeServiceAccountKey()
    const result = await cli(["doctor"], { ...emulator.proxy.env, GOOGLE_APPLICATION_CREDENTIALS: keyFile })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("✓ ADC source: service_account")
    expect(result.stdout).toContain(keyFile)
    expect(result.stdout).not.toContain("PRIVATE KEY")
  })

  it("gcloud user credentials: says the ID token audience is the OAuth client", async () => {
    const keyFile = await emulator.credentials.writeAuthorizedUser()
    const result = await cli(["doctor"], { ...emulator.proxy.env, GOOGLE_APPLICATION_CREDENTIALS: keyFile })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("✓ ADC source: authorized_user")
    expect(result.stdout).toContain(`its audience is the OAuth client ${emulator.user.clientId}`)
  })

  it("a clock far off: the skew check fails with the fix", async () => {
    emulator.controls.setClockOffset(-5 * 60_000)
    const result = await cli(["doctor"])
    expect(result.stdout).toMatch(/✗ clock skew: -3\d\d s .*sync this machine's clock/)
  })

  it("no credentials: exit 2 and the login command", async () => {
    const result = await cli(["doctor"], noCredentials)
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("✗ ADC source")
    expect(result.stdout).toContain("gcloud auth application-default login")
  })
})

describe("effect-adc emulator", () => {
  it("prints the environment; a second process mints a token from it and calls the private service", async () => {
    const { child, env, stdout } = await startEmulatorProcess([], noCredentials)
    try {
      expect(env["GCE_METADATA_HOST"]).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(env["HTTPS_PROXY"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const serviceUrl = /private Cloud Run service that echoes requests: (\S+)/.exec(stdout)?.[1] ?? ""
      const minted = await cli(["token", "id", "--audience", serviceUrl], { ...env })
      expect(minted.code).toBe(0)
      const response = await fetch(serviceUrl, { headers: { authorization: `Bearer ${minted.stdout.trim()}` } })
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ method: "GET", path: "/" })
    } finally {
      child.kill("SIGINT")
    }
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)))
    expect(code === 0 || code === 130 || code === null).toBe(true)
  })
})

describe("effect-adc proxy", () => {
  it("forwards a plain HTTP client's request to a private Cloud Run service with an ID token", async () => {
    const service = await emulator.cloudRun.deploy({
      name: "behind-proxy",
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end(`reached ${req.url}`)
      }
    })
    const child = spawn(process.execPath, [bin, "proxy", "--route", `/svc=${service.url}`, "--port", "0"], {
      env: { PATH: process.env["PATH"] ?? "", ...emulator.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = ""
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString()
          const match = /listening on (http:\/\/\S+)/.exec(stderr)
          if (match?.[1] !== undefined) resolve(match[1])
        })
        child.on("exit", () => reject(new Error(`proxy exited early: ${stderr}`)))
      })
      const response = await fetch(`${url}/svc/hello`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe("reached /hello")
      expect(emulator.controls.count("cloudrun:behind-proxy")).toBe(1)
    } finally {
      child.kill("SIGINT")
      await service.close()
    }
  })

  it("refuses to bind beyond loopback without --allow-non-loopback (exit 1, the fix)", async () => {
    const result = await cli(["proxy", "--route", "/a=https://a-abc-uc.a.run.app", "--host", "0.0.0.0"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("--allow-non-loopback")
  })
})

describe("effect-adc token", () => {
  it("token access prints only the token on stdout", async () => {
    const result = await cli(["token", "access"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ya29\.[\w.-]+\n$/)
    expect(emulator.controls.count("metadata.token")).toBeGreaterThan(0)
  })

  it("token id --audience --json prints the token with expiry and principal", async () => {
    const result = await cli(["token", "id", "--audience", "https://svc-abc-uc.a.run.app", "--json"])
    expect(result.code).toBe(0)
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>
    expect(parsed["kind"]).toBe("id")
    expect(parsed["principal"]).toBe(emulator.serviceAccount.email)
    expect(String(parsed["token"])).toMatch(/^eyJ/)
    expect(Date.parse(String(parsed["expiresAt"]))).toBeGreaterThan(Date.now())
  })

  it("a bad audience: one line on stderr, exit 1 (a usage error), nothing on stdout", async () => {
    const result = await cli(["token", "id", "--audience", "http://example.com"])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("use https")
  })

  it("no credentials: exit 2 with the fix", async () => {
    const result = await cli(["token", "access"], noCredentials)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("gcloud auth application-default login")
  })
})

describe("effect-adc usage", () => {
  it("--version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string
    }
    const result = await cli(["--version"])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`${version}\n`)
  })

  it.each([["piped"], ["piped, NO_COLOR=1"]])("--help has no colour codes when %s", async (label) => {
    const result = await cli(["--help"], label.includes("NO_COLOR") ? { NO_COLOR: "1" } : {})
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("effect-adc")
    expect(result.stdout).toContain("--write-env")
    expect(result.stdout).not.toContain("\u001b[")
  })

  it("--url notaurl: a usage error that names --url, not EFFECT_ADC_MODEL_URL", async () => {
    const result = await cli(["chat", "--model", "gemma3:4b", "--backend", "ollama", "--url", "notaurl"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("--url must be an absolute http(s) URL")
    expect(result.stderr).toContain(`"notaurl"`)
    expect(result.stderr).not.toContain("EFFECT_ADC_MODEL_URL")
    expect(result.stderr).not.toContain("\u001b[")
  })

  it.each([
    ["EFFECT_ADC_MODEL_BACKEND", "nope", `got "nope"`],
    ["EFFECT_ADC_MODEL_ROUTES", "bad", `"bad" is not pattern=backend`]
  ])("%s=%s: one line naming the variable, no Schema tree", async (variable, value, detail) => {
    const result = await cli(["chat", "--model", "x"], { [variable]: value })
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`${variable} is invalid (${detail})`)
    expect(lines[0]).not.toMatch(/[├└]─/)
  })
})
