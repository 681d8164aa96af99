/**
 * How deeply a JSON text nests, found without parsing it. JSON.parse of a text nested two
 * million levels deep (4 MB of '[') holds the event loop for 2-3 s, which a byte limit does not
 * prevent: one agent's hello or one apply of that shape cost a leader its term. Texts from
 * outside are checked against a depth limit first; the scan is linear and allocates nothing.
 */

/** Deeper than any document of ours: resources, agents' messages and reports nest a few levels. */
export const MAX_JSON_DEPTH = 64;

/** The first depth past `limit` that `text` reaches, or null when it stays within it. */
export function jsonDepthPast(text: string, limit = MAX_JSON_DEPTH): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return null;
}
