import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type * as Emulator from "../../src/testing/Emulator.js"

/** A RequestListener on loopback (not behind the Cloud Run front door). */
export const serve = async (handler: Http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> => {
  const server = Http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Who an access token belongs to, asked of the identity emulator's tokeninfo (undefined: not one it issued). */
export const accessTokenPrincipal = async (emulator: Emulator.EmulatorHandle, token: string): Promise<string | undefined> => {
  const response = await fetch(`${emulator.googleApisUrl}/tokeninfo?access_token=${encodeURIComponent(token)}`)
  if (response.status !== 200) return undefined
  const info = (await response.json()) as { email?: string }
  return info.email
}
