/**
 * Google's error bodies, byte for byte where a fixture shows the bytes
 * (../shared/fixtures/{oauth,metadata,cloudrun}).
 *
 * @internal
 */
import { escapeHtml } from "./http.js"

/** Headers of a Google API (ESF) JSON response. @internal */
export const apiJsonHeaders: Readonly<Record<string, string>> = {
  "Content-Type": "application/json; charset=UTF-8",
  "Vary": "Origin, X-Origin, Referer",
  "Server": "ESF",
  "X-XSS-Protection": "0",
  "X-Frame-Options": "SAMEORIGIN",
  "X-Content-Type-Options": "nosniff"
}

/** Headers of an oauth2.googleapis.com / sts.googleapis.com JSON response. @internal */
export const oauthJsonHeaders: Readonly<Record<string, string>> = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
  "Pragma": "no-cache",
  "Server": "scaffolding on HTTPServer2",
  "X-XSS-Protection": "0",
  "X-Frame-Options": "SAMEORIGIN",
  "X-Content-Type-Options": "nosniff"
}

/**
 * An OAuth 2.0 error as oauth2.googleapis.com sends it: one-space indent, no
 * trailing newline (fixtures/oauth/error-invalid-grant-invalid-jwt-signature.json).
 *
 * @internal
 */
export const oauthErrorBody = (error: string, description?: string): string =>
  JSON.stringify(description === undefined ? { error } : { error, error_description: description }, null, 1)

/**
 * An OAuth 2.0 error as the legacy `accounts.google.com/o/oauth2/token` sends
 * it: two-space indent, a space before each colon, and `invalid_client`
 * without a description (fixtures/oauth/error-invalid-client-legacy-401.json).
 *
 * @internal
 */
export const legacyOauthErrorBody = (error: string, description?: string): string =>
  JSON.stringify(
    description === undefined || error === "invalid_client" ? { error } : { error, error_description: description },
    null,
    2
  ).replace(/^( *"[a-z_]+"): /gm, "$1 : ")

/** @internal */
export interface ErrorDetail {
  readonly "@type": string
  readonly [key: string]: unknown
}

/**
 * A `google.rpc.Status` error as ESF sends it: two-space indent and a trailing
 * newline (fixtures/oauth/iam-generate-access-token-error-403.json).
 *
 * @internal
 */
export const apiErrorBody = (
  code: number,
  status: string,
  message: string,
  details?: ReadonlyArray<ErrorDetail>
): string =>
  JSON.stringify(
    { error: details === undefined ? { code, message, status } : { code, message, status, details } },
    null,
    2
  ) + "\n"

/** `google.rpc.ErrorInfo` detail. @internal */
export const errorInfo = (reason: string, domain: string, metadata: Readonly<Record<string, string>>): ErrorDetail => ({
  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
  reason,
  domain,
  metadata
})

/** `google.rpc.BadRequest` detail with one field violation. @internal */
export const badRequest = (description: string, field?: string): ErrorDetail => ({
  "@type": "type.googleapis.com/google.rpc.BadRequest",
  fieldViolations: [field === undefined ? { description } : { field, description }]
})

/**
 * Google's front-end HTML error page (the GFE template of
 * fixtures/cloudrun/error-401-unauthorized-html.json).
 *
 * @internal
 */
export const gfeHtml = (status: number, reason: string, h1: string, h2: string): string =>
  `<html><head>\n<meta http-equiv="content-type" content="text/html;charset=utf-8">\n<title>${status} ${reason}</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n<h1>Error: ${h1}</h1>\n<h2>${h2}</h2>\n<h2></h2>\n</body></html>\n`

/** Cloud Run's 401 page, byte for byte as the fixture with the path put in. @internal */
export const cloudRun401Html = (path: string): string =>
  gfeHtml(
    401,
    "Unauthorized",
    "Unauthorized",
    `Your client does not have permission to the requested URL <code>${escapeHtml(path)}</code>.`
  )

/** Cloud Run's 403 page. @internal */
export const cloudRun403Html = (path: string): string =>
  gfeHtml(
    403,
    "Forbidden",
    "Forbidden",
    `Your client does not have permission to get URL <code>${escapeHtml(path)}</code> from this server.`
  )

/**
 * The "robot" error page that Google servers (and the GCE metadata server)
 * send for an unknown URL or method, abridged: the `<style>` block is left out.
 *
 * @internal
 */
export const googleRobotHtml = (status: 404 | 405 | 400, path: string, method?: string): string => {
  const title = status === 404 ? "Not Found" : status === 405 ? "Method Not Allowed" : "Bad Request"
  const what = status === 404
    ? `The requested URL <code>${escapeHtml(path)}</code> was not found on this server.`
    : status === 405
    ? `The request method <code>${escapeHtml(method ?? "")}</code> is inappropriate for the URL <code>${
      escapeHtml(path)
    }</code>.`
    : "Your client has issued a malformed or illegal request."
  return (
    `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n` +
    `  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">\n` +
    `  <title>Error ${status} (${title})!!1</title>\n` +
    `  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n` +
    `  <p><b>${status}.</b> <ins>That\u2019s an error.</ins>\n` +
    `  <p>${what}  <ins>That\u2019s all we know.</ins>\n`
  )
}

/** @internal */
export const htmlHeaders: Readonly<Record<string, string>> = { "Content-Type": "text/html; charset=UTF-8" }
