/** Reading ../shared/fixtures (real recorded Google responses). */
import * as Fs from "node:fs"

const root = new URL("../../../shared/fixtures/", import.meta.url)

export const fixtureText = (path: string): string => Fs.readFileSync(new URL(path, root), "utf8")

export const fixtureJson = <A = any>(path: string): A => JSON.parse(fixtureText(path)) as A

/** An error fixture: `{status, headers, body}` */
export interface ErrorFixture {
  readonly status: number | null
  readonly headers: Record<string, string>
  readonly body: unknown
}

export const decodeSegment = (jwt: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[index]!, "base64url").toString("utf8")) as Record<string, unknown>
