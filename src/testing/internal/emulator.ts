/**
 * Wiring: keys, state, servers, temp directories, and the handle.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import type { CloudRunService, DeployOptions, EmulatorHandle, EmulatorOptions } from "../Emulator.js"
import { deploy } from "./cloudRun.js"
import { makeControlPlane } from "./controls.js"
import { makeCredentialFiles } from "./credentialFiles.js"
import { makeFetch } from "./fetch.js"
import { makeGoogleApisHandler } from "./googleApis.js"
import { apiErrorBody, apiJsonHeaders } from "./googleErrors.js"
import type { LoopbackServer } from "./http.js"
import { listen, send } from "./http.js"
import { generateSigningKey } from "./keys.js"
import { makeMetadataHandler } from "./metadataServer.js"
import { makeAuthority, startProxy } from "./proxy.js"
import { GOOGLE_ISSUER, makeState } from "./state.js"
import { mintSubjectToken } from "./sts.js"

/** @internal */
export const start = async (options: EmulatorOptions = {}): Promise<EmulatorHandle> => {
  const [current, rotated, serviceAccountKey, idpKey, authorityKey] = await Promise.all([
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey()
  ])
  const state = makeState({
    projectId: options.projectId ?? "emulator-project",
    projectNumber: options.projectNumber ?? "123456789012",
    settings: {
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
      metadataReuseWindowSeconds: options.metadataReuseWindowSeconds ?? 300,
      clockOffsetMs: options.clockOffsetMs ?? 0
    },
    googleKeys: [current, rotated],
    serviceAccountKey,
    idpKey
  })
  const plane = makeControlPlane(state)
  const servers = new Set<LoopbackServer>()
  const directory = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-adc-emulator-"))
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      plane.shutdown()
      await Promise.all([...servers].map((server) => server.close()))
      await Fs.rm(directory, { recursive: true, force: true })
    })()
    return closing
  }

  try {
    const home = Path.join(directory, "home")
    const gcloud = Path.join(directory, "gcloud")
    const files = Path.join(directory, "credentials")
    await Promise.all([home, gcloud, files].map((d) => Fs.mkdir(d, { recursive: true })))

    const metadata = await listen(
      makeMetadataHandler(state, plane),
      (_req, res) =>
        send(
          res,
          500,
          { "Metadata-Flavor": "Google", "Content-Type": "text/plain; charset=utf-8" },
          "Internal Server Error\n"
        )
    )
    servers.add(metadata)
    const apis = await listen(
      makeGoogleApisHandler(state, plane),
      (_req, res) => send(res, 500, apiJsonHeaders, apiErrorBody(500, "INTERNAL", "Internal error encountered."))
    )
    servers.add(apis)
    const authority = makeAuthority(authorityKey, Date.now())
    const proxy = await startProxy(authority, apis, { passThrough: options.proxyPassThrough === true })
    servers.add(proxy)
    const caFile = Path.join(directory, "emulator-ca.pem")
    await Fs.writeFile(caFile, authority.caCertificate)
    // for tools whose CA variable replaces their trust store (REQUESTS_CA_BUNDLE, SSL_CERT_FILE)
    const caBundleFile = Path.join(directory, "ca-bundle.pem")
    await Fs.writeFile(caBundleFile, [...Tls.rootCertificates, authority.caCertificate].join("\n"))

    const fetch = makeFetch(apis.url)
    const credentials = makeCredentialFiles(state, files, apis.url)

    const handle: EmulatorHandle = {
      projectId: state.projectId,
      projectNumber: state.projectNumber,
      metadataHost: metadata.host,
      metadataUrl: metadata.url,
      googleApisUrl: apis.url,
      fetch,
      // a fresh object on every read: GoogleAuth writes `scopes` into the clientOptions it is given
      get clientOptions() {
        return { transporterOptions: { fetchImplementation: fetch } }
      },
      env: {
        GCE_METADATA_HOST: metadata.host,
        GCE_METADATA_IP: metadata.host,
        GCE_METADATA_ROOT: metadata.host,
        METADATA_SERVER_DETECTION: "ping-only",
        GOOGLE_CLOUD_PROJECT: state.projectId,
        GOOGLE_APPLICATION_CREDENTIALS: "",
        CLOUDSDK_CONFIG: gcloud,
        HOME: home
      },
      serviceAccount: {
        email: state.serviceAccount.email,
        uniqueId: state.serviceAccount.uniqueId,
        privateKeyId: state.serviceAccount.key.kid
      },
      user: {
        email: state.user.email,
        uniqueId: state.user.uniqueId,
        clientId: state.user.clientId,
        clientSecret: state.user.clientSecret,
        refreshToken: state.user.refreshToken
      },
      impersonationTarget: { email: state.impersonationTarget.email, uniqueId: state.impersonationTarget.uniqueId },
      workloadIdentity: {
        audience: state.workload.audience,
        issuer: state.workload.issuer,
        subject: state.workload.subject,
        principal: state.workload.principal,
        mintSubjectToken: (o) => mintSubjectToken(state, o)
      },
      proxy: {
        url: proxy.url,
        caCertificate: authority.caCertificate,
        caFile,
        caBundleFile,
        env: {
          HTTPS_PROXY: proxy.url,
          https_proxy: proxy.url,
          NO_PROXY: "127.0.0.1,localhost,::1",
          no_proxy: "127.0.0.1,localhost,::1",
          NODE_EXTRA_CA_CERTS: caFile
        },
        trustInThisProcess: () => {
          const before = Tls.getCACertificates("default")
          Tls.setDefaultCACertificates([...before, authority.caCertificate])
          return () => Tls.setDefaultCACertificates(before)
        }
      },
      issuer: GOOGLE_ISSUER,
      jwksUrl: `${apis.url}/oauth2/v3/certs`,
      credentials,
      cloudRun: {
        deploy: async (deployOptions: DeployOptions): Promise<CloudRunService> => {
          if (closing !== undefined) throw new Error("effect-adc/testing: the emulator is closed")
          const { server, service } = await deploy(state, plane, deployOptions)
          servers.add(server)
          return {
            ...service,
            close: async () => {
              servers.delete(server)
              await server.close()
            }
          }
        }
      },
      controls: plane.controls,
      close
    }
    return handle
  } catch (error) {
    await close()
    throw error
  }
}
