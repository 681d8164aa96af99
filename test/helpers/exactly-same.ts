/** Where two values differ, or null: equal leaf for leaf (Object.is) with the same keys in the same order at every level. */
export function exactlySame(a: unknown, b: unknown, at = '$'): string | null {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b) ? null : `${at}: ${String(a)} against ${String(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${at}: an array against no array`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${at}: keys ${ka.join(',')} against ${kb.join(',')}`;
  for (const k of ka) {
    const d = exactlySame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
    if (d !== null) return d;
  }
  return null;
}
