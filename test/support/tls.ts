/**
 * A fresh certificate and key for loopback TLS servers in tests (localhost plus the
 * given IP literals), optionally trusted by this process's fetch and undici (each test
 * file runs in its own fork, so trust never leaks between files).
 */
import * as Crypto from "node:crypto"
import * as Tls from "node:tls"
import { createCertificate } from "../../src/testing/internal/x509.js"

/** PEM key and certificate for `Https.createServer({ key, cert })`. */
export interface LoopbackTls {
  readonly key: string
  readonly cert: string
}

/**
 * A certificate for `dnsNames` (default `localhost`) and `ipAddresses`, valid a day
 * either side of now; trusted when `trust`.
 */
export const loopbackTls = (options: {
  readonly subject: string
  readonly dnsNames?: ReadonlyArray<string>
  readonly ipAddresses?: ReadonlyArray<string>
  readonly trust: boolean
}): LoopbackTls => {
  const { privateKey, publicKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const now = Date.now()
  const cert = createCertificate({
    subject: options.subject,
    publicKey,
    privateKey,
    dnsNames: options.dnsNames ?? ["localhost"],
    ipAddresses: options.ipAddresses ?? [],
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000)
  })
  if (options.trust) Tls.setDefaultCACertificates([...Tls.getCACertificates("default"), cert])
  return { key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), cert }
}
