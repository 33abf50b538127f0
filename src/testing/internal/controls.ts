/**
 * Fault injection, latency, counters and the principal log, applied by every
 * server through `gate` before it handles a request.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import type * as Http from "node:http"
import type * as Net from "node:net"
import type { Controls, Endpoint, Failure, LogEntry } from "../Emulator.js"
import { send } from "./http.js"
import { generateSigningKey } from "./keys.js"
import type { State } from "./state.js"
import { creatorKey } from "./state.js"

/** @internal */
export interface ControlPlane {
  readonly controls: Controls
  /**
   * Count the call, wait the configured latency, then apply an injected
   * failure if one is armed. Resolves `true` when the server should go on.
   */
  readonly gate: (endpoint: Endpoint, req: Http.IncomingMessage, res: Http.ServerResponse) => Promise<boolean>
  /** Add a line to the principal log. */
  readonly record: (endpoint: Endpoint, principal: string | undefined, detail?: string) => void
  /** Stop pending timers (the sockets are closed by the servers). */
  readonly shutdown: () => void
}

interface Armed {
  readonly failure: Failure
  remaining: number
}

/** @internal */
export const makeControlPlane = (state: State): ControlPlane => {
  const latency = new Map<Endpoint, number>()
  const failures = new Map<Endpoint, Armed>()
  const counts = new Map<string, number>()
  const log: Array<LogEntry> = []
  const timers = new Set<{ readonly timer: NodeJS.Timeout; readonly done: (ok: boolean) => void }>()
  /** Sockets of requests held by a `hang` failure, until the client (or close) ends them. */
  const hung = new Map<Endpoint, Set<Net.Socket>>()
  let closed = false

  const sleep = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry)
          resolve(!closed)
        }, ms),
        done: resolve
      }
      timers.add(entry)
    })

  const record = (endpoint: Endpoint, principal: string | undefined, detail?: string) => {
    log.push(
      detail === undefined ? { at: state.now(), endpoint, principal } : { at: state.now(), endpoint, principal, detail }
    )
  }

  const injected = (
    endpoint: Endpoint,
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    failure: Failure
  ): void => {
    record(
      endpoint,
      undefined,
      `injected failure: ${failure.kind === "status" ? `status ${failure.status}` : failure.kind}`
    )
    switch (failure.kind) {
      case "status":
        return send(
          res,
          failure.status,
          { "Content-Type": "text/plain; charset=utf-8", ...failure.headers },
          failure.body ?? ""
        )
      case "garbage":
        return send(
          res,
          200,
          { "Content-Type": "application/json; charset=utf-8", "Metadata-Flavor": "Google" },
          Buffer.concat([
            Buffer.from("{\"access_token\": \"ya29."),
            Crypto.randomBytes(24),
            Buffer.from("\u0000<html>")
          ])
        )
      case "hang": {
        // keep the socket open until the client gives up or the emulator closes
        req.resume()
        const socket = req.socket
        let open = hung.get(endpoint)
        if (open === undefined) hung.set(endpoint, open = new Set())
        const sockets = open
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
        return
      }
      case "close":
        req.socket.destroy()
        return
    }
  }

  const gate = async (endpoint: Endpoint, req: Http.IncomingMessage, res: Http.ServerResponse): Promise<boolean> => {
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1)
    const delay = latency.get(endpoint) ?? 0
    if (delay > 0 && !(await sleep(delay))) return false
    if (closed) return false
    const armed = failures.get(endpoint)
    if (armed !== undefined && armed.remaining > 0) {
      armed.remaining -= 1
      if (armed.remaining <= 0) failures.delete(endpoint)
      injected(endpoint, req, res, armed.failure)
      return false
    }
    return true
  }

  const controls: Controls = {
    setTokenLifetime: (seconds) => {
      state.settings.tokenLifetimeSeconds = seconds
    },
    setMetadataReuseWindow: (seconds) => {
      state.settings.metadataReuseWindowSeconds = seconds
    },
    setLatency: (endpoint, ms) => {
      if (ms > 0) latency.set(endpoint, ms)
      else latency.delete(endpoint)
    },
    fail: (endpoint, failure, times = Infinity) => {
      if (times > 0) failures.set(endpoint, { failure, remaining: times })
    },
    clearFailures: () => failures.clear(),
    count: (endpoint) => counts.get(endpoint) ?? 0,
    hangingSockets: (endpoint) => {
      let total = 0
      for (const [at, sockets] of hung) if (endpoint === undefined || at === endpoint) total += sockets.size
      return total
    },
    counts: () => Object.fromEntries(counts),
    setClockOffset: (ms) => {
      state.settings.clockOffsetMs = ms
    },
    now: () => state.now(),
    log,
    grantTokenCreator: (caller, target) => {
      state.tokenCreators.add(creatorKey(caller, target))
    },
    revokeTokenCreator: (caller, target) => {
      state.tokenCreators.delete(creatorKey(caller, target))
    },
    revokeRefreshToken: (token = state.user.refreshToken) => {
      state.revokedRefreshTokens.add(token)
    },
    rotateSigningKeys: async () => {
      const fresh = await generateSigningKey()
      const current = state.googleKeys[0]!
      state.googleKeys.splice(0, state.googleKeys.length, fresh, current)
      return fresh.kid
    },
    reset: () => {
      counts.clear()
      log.length = 0
      failures.clear()
      latency.clear()
    }
  }

  return {
    controls,
    gate,
    record,
    shutdown: () => {
      closed = true
      for (const entry of timers) {
        clearTimeout(entry.timer)
        entry.done(false)
      }
      timers.clear()
    }
  }
}
