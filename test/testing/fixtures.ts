/** Reading ../shared/fixtures (real recorded Google responses). */
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"

const root = new URL("../../../shared/fixtures/", import.meta.url)

export const fixtureText = (path: string): string => Fs.readFileSync(new URL(path, root), "utf8")

/** A JSON fixture decoded with `schema` (a fixture of another shape fails the test). */
export const fixtureJson = <A, I>(path: string, schema: Schema.Schema<A, I, never>): A =>
  Schema.decodeUnknownSync(schema)(JSON.parse(fixtureText(path)))

/** An error fixture: `{status, headers, body}` */
export const ErrorFixture = Schema.Struct({
  status: Schema.NullOr(Schema.Number),
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.Unknown
})
export type ErrorFixture = typeof ErrorFixture.Type

export const decodeSegment = (jwt: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[index]!, "base64url").toString("utf8")) as Record<string, unknown>
