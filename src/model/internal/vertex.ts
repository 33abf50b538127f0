/**
 * Vertex AI's hosts, in one place for every backend that speaks to it: the global
 * endpoint, the multi-region (`us`, `eu`) endpoints and the regional ones.
 *
 * @internal
 */

/**
 * The multi-region locations and their hosts (Google's "Multi-region endpoints" table:
 * machine-learning processing stays within the United States or the European Union).
 *
 * @internal
 */
export const multiRegionHosts: Readonly<Record<string, string>> = {
  us: "aiplatform.us.rep.googleapis.com",
  eu: "aiplatform.eu.rep.googleapis.com"
}

/**
 * The endpoint for a location: `global` → `https://aiplatform.googleapis.com`, `us` /
 * `eu` → `https://aiplatform.{us,eu}.rep.googleapis.com`, a region →
 * `https://{region}-aiplatform.googleapis.com`.
 *
 * @internal
 */
export const vertexEndpoint = (location: string): string => {
  if (location === "global") return "https://aiplatform.googleapis.com"
  const multiRegion = multiRegionHosts[location]
  return multiRegion !== undefined ? `https://${multiRegion}` : `https://${location}-aiplatform.googleapis.com`
}
