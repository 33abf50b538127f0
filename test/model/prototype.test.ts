/**
 * `withPlainPrototype` (`src/model/internal/fastpath.ts`) decides whether an answer may
 * be read at all, and `prototypePolluted` (`src/model/internal/errors.ts`) what the
 * refusal says. Each case pollutes a prototype for the call alone and restores it.
 */
import { describe, expect, it } from "@effect/vitest"
import { prototypePolluted } from "../../src/model/internal/errors.js"
import { own, withPlainPrototype } from "../../src/model/internal/fastpath.js"

/** `f` with `target[name]` defined (non-enumerable unless told), removed after. */
const defining = <A>(target: object, names: ReadonlyArray<string>, f: () => A, enumerable = false): A => {
  for (const name of names) {
    expect(Object.hasOwn(target, name)).toBe(false)
    Object.defineProperty(target, name, { value: "v", enumerable, configurable: true, writable: true })
  }
  try {
    return f()
  } finally {
    for (const name of names) Reflect.deleteProperty(target, name)
  }
}

/** What `withPlainPrototype` gave: the decode's result, or the names it refused with. */
const attempt = () => withPlainPrototype(() => "decoded" as const, (names) => names)

describe("withPlainPrototype", () => {
  it("runs the decode on plain prototypes, where a defined field counts as own without asking", () => {
    expect(attempt()).toBe("decoded")
    expect(withPlainPrototype(() => own({}, "x"), () => "refused")).toBe(true)
    // outside, `own` asks Object.hasOwn again
    expect(own({}, "x")).toBe(false)
  })

  it("refuses with every extra name of Object.prototype, enumerable or not, and does not run the decode", () => {
    let ran = false
    const refused = defining(Object.prototype, ["parts", "text"], () =>
      withPlainPrototype(() => {
        ran = true
      }, (names) => names))
    expect(ran).toBe(false)
    expect(refused).toEqual(["Object.prototype.parts", "Object.prototype.text"])
    expect(defining(Object.prototype, ["candidates"], attempt, true)).toEqual(["Object.prototype.candidates"])
  })

  it("refuses on an index of Array.prototype (any index, not only 0), and not on a method a polyfill adds", () => {
    expect(defining(Array.prototype, ["3"], attempt)).toEqual(["Array.prototype[3]"])
    expect(defining(Array.prototype, ["0", "12"], attempt, true)).toEqual(["Array.prototype[0]", "Array.prototype[12]"])
    expect(defining(Array.prototype, ["polyfilledMethod"], attempt)).toBe("decoded")
  })

  it("looks once when nested, and is plain again (own asks) after a refusal or a throw", () => {
    expect(withPlainPrototype(() => withPlainPrototype(() => own({}, "x"), () => false), () => false)).toBe(true)
    expect(defining(Object.prototype, ["x"], attempt)).toEqual(["Object.prototype.x"])
    expect(() =>
      withPlainPrototype(() => {
        throw new Error("boom")
      }, () => undefined)
    ).toThrow("boom")
    expect(own({}, "x")).toBe(false)
    expect(attempt()).toBe("decoded")
  })
})

describe("prototypePolluted", () => {
  it("lists at most five names, scrubbed, and never a value", () => {
    const names = ["a", "b", "c", "d", "ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxxxxxxxx", "f", "g"].map((n) =>
      `Object.prototype.${n}`
    )
    const error = prototypePolluted({ backend: "ollama" }, names)
    expect(error._tag).toBe("PrototypePolluted")
    expect(error.detail).toBe(
      "Object.prototype.a, Object.prototype.b, Object.prototype.c, Object.prototype.d, Object.prototype.<redacted> and 2 more set"
    )
    expect(error.isRetryable).toBe(false)
  })

  it("takes only the context's own fields of their type: a polluted status, model or url is not read", () => {
    const error = defining(
      Object.prototype,
      ["status", "model", "url"],
      () => prototypePolluted({ backend: "gemini-api" }, ["Object.prototype.status"]),
      true
    )
    expect([error.status, error.model, error.url]).toEqual([undefined, undefined, undefined])
    const kept = prototypePolluted(
      { backend: "gemini-api", model: "gemini-2.5-flash", url: "http://127.0.0.1:1/x", status: 400 },
      ["Object.prototype.x"]
    )
    expect([kept.status, kept.model, kept.url]).toEqual([400, "gemini-2.5-flash", "http://127.0.0.1:1/x"])
  })
})
