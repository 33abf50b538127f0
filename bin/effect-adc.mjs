#!/usr/bin/env node
// The published package runs the compiled CLI; a checkout without dist/ runs the
// TypeScript source through tsx (a devDependency).
import { existsSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url))
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/cli/main.ts", import.meta.url).href)
}
