/**
 * A minimal X.509 v3 certificate writer (DER by hand, signed with
 * `node:crypto`). Used for the PEM map at `/oauth2/v1/certs` (Google publishes
 * self-signed certificates there) and for the local TLS authority of the
 * forward proxy. Only what those two need: RSA keys, sha256WithRSAEncryption,
 * a common name, subject alternative names, CA / server-auth extensions.
 *
 * @internal
 */
import * as Crypto from "node:crypto"

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n])
  const bytes: Array<number> = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const tlv = (tag: number, ...content: ReadonlyArray<Buffer>): Buffer => {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}

const sequence = (...items: ReadonlyArray<Buffer>) => tlv(0x30, ...items)
const set = (...items: ReadonlyArray<Buffer>) => tlv(0x31, ...items)
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner)
const nullValue = Buffer.from([0x05, 0x00])
const booleanTrue = Buffer.from([0x01, 0x01, 0xff])
const octetString = (b: Buffer) => tlv(0x04, b)
const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b)
const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"))

const integer = (bytes: Buffer): Buffer => {
  let b = bytes
  while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1)
  if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b])
  return tlv(0x02, b)
}

const oid = (dotted: string): Buffer => {
  const parts = dotted.split(".").map(Number)
  const first = (parts[0] ?? 0) * 40 + (parts[1] ?? 0)
  const out: Array<number> = [first]
  for (const part of parts.slice(2)) {
    const chunk: Array<number> = [part & 0x7f]
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80)
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

const time = (date: Date): Buffer => {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5)
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso))
}

const name = (commonName: string) => sequence(set(sequence(oid("2.5.4.3"), utf8String(commonName))))

const sha256WithRsa = sequence(oid("1.2.840.113549.1.1.11"), nullValue)

const keyId = (publicKey: Crypto.KeyObject): Buffer =>
  Crypto.createHash("sha1").update(publicKey.export({ type: "spki", format: "der" })).digest()

const extension = (id: string, critical: boolean, value: Buffer) =>
  critical ? sequence(oid(id), booleanTrue, octetString(value)) : sequence(oid(id), octetString(value))

const ipBytes = (ip: string): Buffer | undefined => {
  const parts = ip.split(".")
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p)) ? Buffer.from(parts.map(Number)) : undefined
}

/** @internal */
export interface CertificateOptions {
  readonly subject: string
  readonly publicKey: Crypto.KeyObject
  readonly issuer?: {
    readonly name: string
    readonly privateKey: Crypto.KeyObject
    readonly publicKey: Crypto.KeyObject
  }
  /** the key that signs a self-signed certificate */
  readonly privateKey?: Crypto.KeyObject
  readonly isCa?: boolean
  readonly dnsNames?: ReadonlyArray<string>
  readonly ipAddresses?: ReadonlyArray<string>
  readonly notBefore: Date
  readonly notAfter: Date
}

/**
 * Build and sign a certificate; returns it as PEM.
 *
 * @internal
 */
export const createCertificate = (options: CertificateOptions): string => {
  const issuerName = options.issuer?.name ?? options.subject
  const signingKey = options.issuer?.privateKey ?? options.privateKey
  const issuerPublicKey = options.issuer?.publicKey ?? options.publicKey
  if (signingKey === undefined) throw new Error("createCertificate: no signing key")
  const extensions: Array<Buffer> = [
    extension("2.5.29.14", false, octetString(keyId(options.publicKey))),
    extension("2.5.29.35", false, sequence(tlv(0x80, keyId(issuerPublicKey))))
  ]
  if (options.isCa === true) {
    extensions.push(extension("2.5.29.19", true, sequence(booleanTrue)))
    // keyCertSign | cRLSign
    extensions.push(extension("2.5.29.15", true, tlv(0x03, Buffer.from([1, 0x06]))))
  } else {
    extensions.push(extension("2.5.29.19", true, sequence()))
    // digitalSignature | keyEncipherment
    extensions.push(extension("2.5.29.15", true, tlv(0x03, Buffer.from([5, 0xa0]))))
    extensions.push(extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"))))
  }
  const altNames: Array<Buffer> = [
    ...(options.dnsNames ?? []).map((dns) => tlv(0x82, Buffer.from(dns, "ascii"))),
    ...(options.ipAddresses ?? []).flatMap((ip) => {
      const bytes = ipBytes(ip)
      return bytes === undefined ? [] : [tlv(0x87, bytes)]
    })
  ]
  if (altNames.length > 0) extensions.push(extension("2.5.29.17", false, sequence(...altNames)))
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), Crypto.randomBytes(15)])),
    sha256WithRsa,
    name(issuerName),
    sequence(time(options.notBefore), time(options.notAfter)),
    name(options.subject),
    options.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(...extensions))
  )
  const signature = Crypto.sign("sha256", tbs, signingKey)
  const der = sequence(tbs, sha256WithRsa, bitString(signature))
  const base64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`
}
