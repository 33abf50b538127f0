import * as Loopback from "../../../src/testing/Loopback.js"

/** Serve a RequestListener on loopback for the scope's lifetime (the public `Loopback.make`). */
export const serve = Loopback.make
