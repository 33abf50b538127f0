/**
 * The one rule for "this 401 rejects the token itself" (expired, revoked, wrong
 * audience), as opposed to a 401 for a missing scope or another scheme. Shared by the
 * signing `fetch`; AuthHttpClient applies the same rule to HttpClientResponses.
 *
 * @internal
 */

/** @internal */
export const tokenRejected = (status: number, challenge: string | null | undefined): boolean =>
  status === 401 &&
  (challenge === null || challenge === undefined || /invalid_token|expired/i.test(challenge) || !/error=/i.test(challenge))
