/**
 * Compact JWS (RS256) encoding, decoding and verification with `node:crypto`.
 *
 * @internal
 */
import * as Crypto from "node:crypto"

/** @internal */
export const base64url = (input: Buffer | string): string => Buffer.from(input).toString("base64url")

/** @internal */
export interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  readonly signingInput: string
  readonly signature: Buffer
}

/**
 * Sign `payload` with RS256. Key order of `header` and `payload` is kept, so the
 * caller decides the claim order on the wire.
 *
 * @internal
 */
export const signRs256 = (
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  privateKey: Crypto.KeyObject
): string => {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
  const signature = Crypto.sign("sha256", Buffer.from(signingInput), privateKey)
  return `${signingInput}.${base64url(signature)}`
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * base64url, with or without `=` padding: Google accepts both (older Python
 * google-auth pads its assertions), so the emulator does too.
 */
const SEGMENT = /^[A-Za-z0-9_-]*={0,2}$/

const parseSegment = (segment: string): Record<string, unknown> | undefined => {
  if (!SEGMENT.test(segment)) return undefined
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment.replace(/=+$/, ""), "base64url").toString("utf8"))
    return isRecord(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * Decode a compact JWS without verifying it. Returns `undefined` for anything
 * that is not three base64url segments with JSON objects in the first two.
 *
 * @internal
 */
export const decode = (token: string): DecodedJwt | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const [h, p, s] = parts as [string, string, string]
  const header = parseSegment(h)
  const payload = parseSegment(p)
  if (header === undefined || payload === undefined || !SEGMENT.test(s)) return undefined
  // the signature covers the segments exactly as sent, padding included
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s.replace(/=+$/, ""), "base64url") }
}

/** @internal */
export const verifyRs256 = (jwt: DecodedJwt, publicKey: Crypto.KeyObject): boolean => {
  if (jwt.header["alg"] !== "RS256") return false
  try {
    return Crypto.verify("sha256", Buffer.from(jwt.signingInput), publicKey, jwt.signature)
  } catch {
    return false
  }
}

/** Numeric claim or `undefined`. @internal */
export const numberClaim = (jwt: DecodedJwt, name: string): number | undefined => {
  const value = jwt.payload[name]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/** String claim or `undefined`. @internal */
export const stringClaim = (jwt: DecodedJwt, name: string): string | undefined => {
  const value = jwt.payload[name]
  return typeof value === "string" ? value : undefined
}

/** String header parameter or `undefined`. @internal */
export const stringHeader = (jwt: DecodedJwt, name: string): string | undefined => {
  const value = jwt.header[name]
  return typeof value === "string" ? value : undefined
}
