/**
 * A key and its value as `ctl -o json` prints them: `value` when the bytes are UTF-8 text,
 * `valueBase64` when they are not (the contract's rule for `kv get`), so any value survives a
 * round trip through JSON.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type ValueJson = { readonly value: string } | { readonly valueBase64: string };

export function valueJson(value: Uint8Array): ValueJson {
  try {
    return { value: utf8.decode(value) };
  } catch {
    return { valueBase64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
}

export function keyValueJson(key: string, value: Uint8Array, revision: number): Record<string, unknown> {
  return { key, ...valueJson(value), revision };
}
