import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { noCredentials, runCli, startEmulatorProcess } from "../support/cli.js"

// The example in docs/testing.md runs as written and settles (60-second tokens used to
// leave every caller pending), and so does `effect-adc emulator --token-lifetime 30`
// followed by `token access` in a second process.

const root = fileURLToPath(new URL("../../", import.meta.url))

/** The first TypeScript block of docs/testing.md, exactly as printed. */
const docBlock = (): string => {
  const markdown = readFileSync(join(root, "docs/testing.md"), "utf8")
  const match = /```ts\n([\s\S]*?)```/.exec(markdown)
  if (match?.[1] === undefined) throw new Error("docs/testing.md has no ts block")
  return match[1]
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("docs/testing.md", () => {
  it("the example runs as written: both tokens, then the emulator closes", async () => {
    const block = docBlock()
    expect(block).toContain("Emulator.start({ tokenLifetimeSeconds: 60 })")
    // Only the package specifiers change: the checkout has no dist/ to resolve them to.
    const source = block
      .replace(`from "effect-adc/testing"`, `from ${JSON.stringify(join(root, "src/testing/index.js"))}`)
      .replace(`from "effect-adc"`, `from ${JSON.stringify(join(root, "src/index.js"))}`)
    expect(source.split("\n").length).toBe(block.split("\n").length)
    // Inside the checkout, so that "effect" resolves from its node_modules.
    const file = join(root, "test/auth/.docs-testing-snippet.ts")
    writeFileSync(file, source)
    const printed: Array<unknown> = []
    vi.spyOn(console, "log").mockImplementation((value: unknown) => {
      printed.push(value)
    })
    const saved = { ...process.env }
    try {
      await import(/* @vite-ignore */ file)
    } finally {
      process.env = saved
      rmSync(file, { force: true })
    }
    expect(printed).toHaveLength(1)
    const { accessExpiresAt, idExpiresAt } = printed[0] as { accessExpiresAt: number; idExpiresAt: number }
    expect(accessExpiresAt - Date.now()).toBeGreaterThan(30_000)
    expect(idExpiresAt - Date.now()).toBeGreaterThan(30_000)
  })
})

describe("effect-adc emulator --token-lifetime 30", () => {
  it("token access from its environment settles with a token", async () => {
    const base = noCredentials("effect-adc-docs-")
    const empty = base.HOME
    const { child, env } = await startEmulatorProcess(["--token-lifetime", "30"], base)
    try {
      const result = await runCli(["token", "access", "--json"], { ...base, ...env })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      const token = JSON.parse(result.stdout) as { token: string; expiresAt: string }
      expect(token.token).toMatch(/^ya29\./)
      const left = Date.parse(token.expiresAt) - Date.now()
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(30_000)
    } finally {
      child.kill("SIGINT")
      rmSync(empty, { recursive: true, force: true })
    }
  }, 60_000)
})
