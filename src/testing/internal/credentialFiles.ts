/**
 * Credential files in the formats gcloud and the IAM console write, pointing
 * at the emulator's principals.
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { ExternalAccountFileOptions, ImpersonatedFileOptions } from "../Emulator.js"
import { privateKeyPem } from "./keys.js"
import type { State } from "./state.js"
import { mintSubjectToken } from "./sts.js"

/** @internal */
export const makeCredentialFiles = (state: State, directory: string, googleApisUrl: string) => {
  let counter = 0
  const write = async (kind: string, content: unknown, extension = "json"): Promise<string> => {
    counter += 1
    const file = Path.join(directory, `${kind}-${counter}.${extension}`)
    await Fs.writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2) + "\n", {
      mode: 0o600
    })
    return file
  }

  const serviceAccountKey = () => ({
    type: "service_account",
    project_id: state.projectId,
    private_key_id: state.serviceAccount.key.kid,
    private_key: privateKeyPem(state.serviceAccount.key),
    client_email: state.serviceAccount.email,
    client_id: state.serviceAccount.uniqueId,
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${
      encodeURIComponent(state.serviceAccount.email)
    }`,
    universe_domain: "googleapis.com"
  })

  /** as `gcloud auth application-default login` writes it */
  const authorizedUser = () => ({
    account: "",
    client_id: state.user.clientId,
    client_secret: state.user.clientSecret,
    quota_project_id: state.projectId,
    refresh_token: state.user.refreshToken,
    type: "authorized_user",
    universe_domain: "googleapis.com"
  })

  return {
    writeServiceAccountKey: () => write("service-account", serviceAccountKey()),
    writeAuthorizedUser: () => write("authorized-user", authorizedUser()),
    /** as `gcloud auth application-default login --impersonate-service-account` writes it */
    writeImpersonated: (options: ImpersonatedFileOptions = {}) =>
      write("impersonated", {
        delegates: options.delegates ?? [],
        service_account_impersonation_url:
          `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${state.impersonationTarget.email}:generateAccessToken`,
        source_credentials: options.source === "service_account" ? serviceAccountKey() : authorizedUser(),
        type: "impersonated_service_account"
      }),
    /**
     * as `gcloud iam workload-identity-pools create-cred-config … --credential-source-file`
     * writes it; `token_url` and the impersonation URL are the emulator's
     * loopback URLs unless `endpoints: "google"`
     */
    writeExternalAccount: async (options: ExternalAccountFileOptions = {}) => {
      const google = options.endpoints === "google"
      const subjectTokenFile = await write("subject-token", mintSubjectToken(state, { lifetimeSeconds: 86_400 }), "jwt")
      const config: Record<string, unknown> = {
        universe_domain: "googleapis.com",
        type: "external_account",
        audience: state.workload.audience,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: `${google ? "https://sts.googleapis.com" : googleApisUrl}/v1/token`,
        credential_source: { file: subjectTokenFile, format: { type: "text" } }
      }
      if (options.impersonate === true) {
        config["service_account_impersonation_url"] = `${
          google ? "https://iamcredentials.googleapis.com" : googleApisUrl
        }/v1/projects/-/serviceAccounts/${state.impersonationTarget.email}:generateAccessToken`
      }
      return write("external-account", config)
    }
  }
}
