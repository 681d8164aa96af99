/**
 * Keys and values as ctl's text listings print them (`kv get --prefix`, `watch`): as they are, or
 * JSON-quoted when they hold a character that would forge a row of the listing (a newline in a
 * key) or drive the operator's terminal (ESC and the other controls).
 */
import { jsonText } from '../printable.js';

/** C0 and C1 controls and DEL: a newline forges a row of the text listing, ESC reaches the terminal. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** A key: any control character, or a Unicode line separator. */
const keyControl = (code: number): boolean => isControl(code) || code === 0x2028 || code === 0x2029;
/** A value: its line breaks and tabs are its own; other controls are not. */
const valueControl = (code: number): boolean => isControl(code) && code !== 0x0a && code !== 0x0d && code !== 0x09;

/**
 * A key or value as the text listing prints it: as it is, or JSON-quoted when it holds such
 * characters (attack round 8), every one of them escaped (JSON.stringify alone left C1's CSI, DEL).
 */
function shown(text: string, control: (code: number) => boolean): string {
  for (let i = 0; i < text.length; i++) if (control(text.charCodeAt(i))) return jsonText(text);
  return text;
}

export function shownKey(key: string): string {
  return shown(key, keyControl);
}

export function shownValue(value: Uint8Array): string {
  return shown(Buffer.from(value).toString('utf8'), valueControl);
}
