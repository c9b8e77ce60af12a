// How deeply a JSON text nests, read before it is parsed: JSON.parse itself copes with any depth, but every walk of the
// parsed value afterwards (validation, indexing, JSON.stringify when it is stored) recurses and would overflow the
// stack on a body of a few megabytes of brackets.

/** True when objects and arrays in `text` nest more than `max` deep; brackets inside strings do not count. */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
