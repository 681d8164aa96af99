/**
 * A key (or prefix) a client sent. Every RPC that takes one refuses it over the store's key
 * limit, as Put always did: no stored key is longer, and an error that echoed a 100 kB key came
 * back as a gRPC trailer too large to deliver, so the client waited out its deadline instead.
 * Errors that echo client input quote only its start.
 */
import { MAX_KEY_BYTES } from '../limits/entry-size.js';

/** What is wrong with `key` as the field `field`, or null when it is within the limit. */
export function keyTooLong(key: string, field = 'key'): string | null {
  const bytes = Buffer.byteLength(key, 'utf8');
  return bytes > MAX_KEY_BYTES ? `field "${field}" must be at most ${MAX_KEY_BYTES} bytes, found ${bytes}` : null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A JavaScript string with half a surrogate pair is no Unicode text: UTF-8 encoding (gRPC's, on
 * the way out) turns it into U+FFFD, so two different keys would reach the store as one. Only a
 * client sees it; the server never receives one.
 */
export function loneSurrogate(key: string, field = 'key'): string | null {
  const m = LONE_SURROGATE.exec(key);
  if (m === null) return null;
  const unit = m[0].charCodeAt(0).toString(16).toUpperCase();
  return `field "${field}" holds a lone surrogate (U+${unit}) at index ${m.index}: not Unicode text, it would be stored as U+FFFD`;
}

const ECHO_CHARS = 64;

/** The first 64 characters of a longer `text` (never half a surrogate pair); null when it is short. */
function head(text: string): string | null {
  if (text.length <= ECHO_CHARS) return null;
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(ECHO_CHARS - 1)) ? ECHO_CHARS - 1 : ECHO_CHARS;
  return text.slice(0, cut);
}

/** `text` as it is when short; else its first 64 characters and its size: `abc…(100000 bytes)`. */
export function shortened(text: string): string {
  const h = head(text);
  return h === null ? text : `${h}…(${Buffer.byteLength(text, 'utf8')} bytes)`;
}

/** `text` quoted for an error message, shortened the same way: `"abc"…(100000 bytes)`. */
export function quoteKey(text: string): string {
  const h = head(text);
  return h === null ? JSON.stringify(text) : `${JSON.stringify(h)}…(${Buffer.byteLength(text, 'utf8')} bytes)`;
}
