import type * as Emulator from "../../src/testing/Emulator.js"
import * as Loopback from "../../src/testing/Loopback.js"

/** A RequestListener on loopback (not behind the Cloud Run front door): the public `Loopback.serve`. */
export const serve = Loopback.serve

/** Who an access token belongs to, asked of the identity emulator's tokeninfo (undefined: not one it issued). */
export const accessTokenPrincipal = async (
  emulator: Emulator.EmulatorHandle,
  token: string
): Promise<string | undefined> => {
  const response = await fetch(`${emulator.googleApisUrl}/tokeninfo?access_token=${encodeURIComponent(token)}`)
  if (response.status !== 200) return undefined
  const info = (await response.json()) as { email?: string }
  return info.email
}
