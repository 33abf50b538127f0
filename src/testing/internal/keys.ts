/**
 * RSA signing keys: Google's token-signing keys (published at the certs
 * endpoints), the service-account key, the external IdP key.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import { createCertificate } from "./x509.js"

/** @internal */
export interface SigningKey {
  /** 40 hex characters, like Google's `kid` and a key file's `private_key_id` */
  readonly kid: string
  readonly privateKey: Crypto.KeyObject
  readonly publicKey: Crypto.KeyObject
}

/** @internal */
export const generateSigningKey = (): Promise<SigningKey> =>
  new Promise((resolve, reject) =>
    Crypto.generateKeyPair(
      "rsa",
      { modulusLength: 2048, publicExponent: 0x10001 },
      (error, publicKey, privateKey) =>
        error
          ? reject(error)
          : resolve({ kid: Crypto.randomBytes(20).toString("hex"), privateKey, publicKey })
    )
  )

/** `{kty, alg, use, kid, n, e}` as served at `/oauth2/v3/certs`. @internal */
export const toJwk = (key: SigningKey) => {
  const jwk = key.publicKey.export({ format: "jwk" })
  return { kty: "RSA", alg: "RS256", use: "sig", kid: key.kid, n: jwk.n, e: jwk.e }
}

/** PKCS#8 PEM, as in a service-account key file's `private_key`. @internal */
export const privateKeyPem = (key: SigningKey): string =>
  key.privateKey.export({ type: "pkcs8", format: "pem" }).toString()

/**
 * A self-signed certificate for the key, as served at `/oauth2/v1/certs` and
 * `/robot/v1/metadata/x509/{email}`.
 *
 * @internal
 */
export const certificatePem = (key: SigningKey, subject: string, nowMs: number): string =>
  createCertificate({
    subject,
    publicKey: key.publicKey,
    privateKey: key.privateKey,
    notBefore: new Date(nowMs - 86_400_000),
    notAfter: new Date(nowMs + 14 * 86_400_000)
  })
