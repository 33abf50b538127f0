/**
 * A memo of derived values for keys that are few and repeat (the URLs a client calls,
 * the label sets of a model's metrics): at most `max` entries, all dropped when it is
 * full, so a caller that sends unbounded distinct keys costs memory only up to `max`.
 *
 * @internal
 */
export const bounded = <K, V>(max: number): (key: K, make: () => V) => V => {
  const entries = new Map<K, V>()
  return (key, make) => {
    const known = entries.get(key)
    if (known !== undefined) return known
    const value = make()
    if (entries.size >= max) entries.clear()
    entries.set(key, value)
    return value
  }
}
