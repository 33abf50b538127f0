/**
 * Error messages as one line for the terminal. A configuration message may embed
 * Effect Schema's parse tree (`├─` / `└─` branches, one per union member); the user
 * needs only what was wrong with the value, so the tree is replaced by its last
 * leaf (`got "nope"` for an `Expected …, actual "nope"` leaf). The allowed values are
 * in the suggestion that follows.
 *
 * @internal
 */

const TREE = /[├└]─/

/** The innermost parenthesised group (balanced) that holds a tree, as [start, end). */
const treeGroup = (text: string): readonly [number, number] | undefined => {
  const marker = text.search(TREE)
  if (marker < 0) return undefined
  let depth = 0
  let start = -1
  for (let i = marker; i >= 0; i--) {
    if (text[i] === ")") depth++
    else if (text[i] === "(") {
      if (depth === 0) {
        start = i
        break
      }
      depth--
    }
  }
  if (start < 0) return undefined
  depth = 0
  for (let i = start; i < text.length; i++) {
    if (text[i] === "(") depth++
    else if (text[i] === ")" && --depth === 0) return [start, i + 1]
  }
  return undefined
}

/** @internal */
export const oneLine = (message: string): string => {
  let text = message.replace(/\s+/g, " ").trim()
  for (let group = treeGroup(text); group !== undefined; group = treeGroup(text)) {
    const [start, end] = group
    const inner = text.slice(start + 1, end - 1)
    const leaf = inner.split(TREE).at(-1)!.trim()
    const actual = /^Expected .*, actual (.+)$/.exec(leaf)
    text = `${text.slice(0, start)}(${actual !== null ? `got ${actual[1]}` : leaf})${text.slice(end)}`
  }
  return text
}
