/**
 * Reading and checking a credential JSON ourselves, whichever option it came from
 * (`credentials`, `keyFile`, GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file),
 * before google-auth-library sees it: a broken file fails the layer build with
 * `CredentialsInvalid` naming the field, never later as a token endpoint's fault. (It
 * also keeps us off google-auth-library's deprecated `keyFilename` / `credentials` /
 * `fromJSON` paths, which print warnings.)
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { CredentialsInvalid } from "../AuthError.js"

/** @internal */
export type JsonCredentials = Record<string, unknown>

const invalid = (source: string, field: string | undefined, detail: string) =>
  new CredentialsInvalid({ source, detail, ...(field === undefined ? {} : { field }) })

/**
 * Reads a credential file: unreadable, not JSON or not an object is `CredentialsInvalid`.
 *
 * @internal
 */
export const readFile = (path: string, source: string): Effect.Effect<JsonCredentials, CredentialsInvalid> =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => Fs.readFileSync(path, "utf8"),
      catch: (e) =>
        invalid(source, undefined, `the file cannot be read (${(e as { code?: string }).code ?? "read error"})`)
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => invalid(source, undefined, "the file is not JSON")
    })
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* invalid(source, undefined, "the file is not a JSON object")
    }
    return json as JsonCredentials
  })

/**
 * gcloud's well-known ADC file, when it exists.
 *
 * @internal
 */
export const wellKnownFile = (): string | undefined => {
  const file = Path.join(gcloudDirectory(), "application_default_credentials.json")
  return Fs.existsSync(file) ? file : undefined
}

/** gcloud's configuration folder (`CLOUDSDK_CONFIG`, else the platform default). */
const gcloudDirectory = (): string => {
  const config = process.env["CLOUDSDK_CONFIG"]
  return config !== undefined && config !== ""
    ? config
    : process.platform === "win32"
    ? Path.join(process.env["APPDATA"] ?? "", "gcloud")
    : Path.join(process.env["HOME"] ?? Os.homedir(), ".config", "gcloud")
}

const readText = (file: string): string | undefined => {
  try {
    return Fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/**
 * The project of gcloud's active configuration (`gcloud config set project`), read from
 * its files, never by running `gcloud`: `CLOUDSDK_CORE_PROJECT`, else `[core] project` in
 * `configurations/config_<active>` (`CLOUDSDK_ACTIVE_CONFIG_NAME`, else `active_config`,
 * else `default`).
 *
 * @internal
 */
export const gcloudProject = (): string | undefined => {
  const fromEnv = process.env["CLOUDSDK_CORE_PROJECT"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  const directory = gcloudDirectory()
  const active = process.env["CLOUDSDK_ACTIVE_CONFIG_NAME"] ||
    readText(Path.join(directory, "active_config"))?.trim() || "default"
  const text = readText(Path.join(directory, "configurations", `config_${active}`))
  if (text === undefined) return undefined
  let section = ""
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) section = header[1] ?? ""
    const entry = section === "core" ? /^project\s*=\s*(\S+)$/.exec(line) : null
    if (entry?.[1] !== undefined) return entry[1]
  }
  return undefined
}

const nonEmptyString = (json: JsonCredentials, field: string): boolean =>
  typeof json[field] === "string" && json[field] !== ""

/** The fields each type needs, as non-empty strings. */
const requiredStrings: Readonly<Record<string, ReadonlyArray<string>>> = {
  service_account: ["client_email", "private_key"],
  authorized_user: ["client_id", "client_secret", "refresh_token"],
  impersonated_service_account: ["service_account_impersonation_url"],
  external_account: ["audience", "subject_token_type", "token_url"],
  external_account_authorized_user: ["audience", "refresh_token", "token_url"]
}

/**
 * Does `pem` parse as a private key? `node:crypto` is imported here, when a service
 * account key is checked, not with this module: this module is on the metadata server's
 * start-up path, where an ES module import of `node:crypto` (its facade reads the lazy
 * `webcrypto`) cost about 10-20 ms of a cold start for a module that path never uses.
 */
const isPemPrivateKey = (pem: string): Effect.Effect<boolean> =>
  Effect.map(Effect.promise(() => import("node:crypto")), (Crypto) => {
    try {
      Crypto.createPrivateKey(pem)
      return true
    } catch {
      return false
    }
  })

/**
 * Checks a credential JSON: a supported `type` and, per type, the fields it needs (a
 * service account's `private_key` must parse as a PEM private key). `prefix` names the
 * field path inside an impersonation file (`source_credentials.`).
 *
 * @internal
 */
export const validate = (
  json: JsonCredentials,
  source: string,
  prefix = ""
): Effect.Effect<JsonCredentials, CredentialsInvalid> =>
  Effect.gen(function*() {
    const type = json["type"]
    if (typeof type !== "string" || type === "") {
      return yield* invalid(source, `${prefix}type`, `the \`${prefix}type\` field is missing`)
    }
    const required = requiredStrings[type]
    if (required === undefined) {
      return yield* invalid(source, `${prefix}type`, `the credential type ${JSON.stringify(type)} is not supported`)
    }
    for (const field of required) {
      if (!nonEmptyString(json, field)) {
        return yield* invalid(source, `${prefix}${field}`, `the \`${prefix}${field}\` field is missing or empty`)
      }
    }
    if (type === "service_account" && !(yield* isPemPrivateKey(json["private_key"] as string))) {
      return yield* invalid(
        source,
        `${prefix}private_key`,
        `the \`${prefix}private_key\` field is not a valid PEM private key (a key pasted with its \\n line ` +
          `breaks lost or doubled is the usual cause; download the key file again)`
      )
    }
    if (type === "external_account") {
      const credentialSource = json["credential_source"]
      if (typeof credentialSource !== "object" || credentialSource === null) {
        return yield* invalid(
          source,
          `${prefix}credential_source`,
          `the \`${prefix}credential_source\` object is missing`
        )
      }
    }
    if (type === "impersonated_service_account") {
      if (
        !/serviceAccounts\/[^/:]+:generate(Access|Id)Token$/.test(json["service_account_impersonation_url"] as string)
      ) {
        return yield* invalid(
          source,
          `${prefix}service_account_impersonation_url`,
          "the `service_account_impersonation_url` does not name a service account (…/serviceAccounts/EMAIL:generateAccessToken)"
        )
      }
      const inner = json["source_credentials"]
      if (typeof inner !== "object" || inner === null || Array.isArray(inner)) {
        return yield* invalid(source, `${prefix}source_credentials`, "the `source_credentials` object is missing")
      }
      const innerType = (inner as JsonCredentials)["type"]
      if (innerType !== "service_account" && innerType !== "authorized_user") {
        return yield* invalid(
          source,
          `${prefix}source_credentials.type`,
          "the `source_credentials` must be a service_account or authorized_user credential"
        )
      }
      yield* validate(inner as JsonCredentials, source, `${prefix}source_credentials.`)
    }
    return json
  })
