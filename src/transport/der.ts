/**
 * Just enough DER (X.690) to read certificates and CRLs, which Node does not parse for us:
 * one element at a time, lengths of up to four bytes, and the two ASN.1 time forms.
 */

export interface Tlv {
  readonly tag: number;
  /** The whole element, header included. */
  readonly der: Buffer;
  readonly content: Buffer;
}

export class Malformed extends Error {}

/** The DER element at the start of `buf`. */
export function tlv(buf: Buffer): Tlv {
  if (buf.length < 2) throw new Malformed('truncated');
  const tag = buf[0]!;
  let length = buf[1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || buf.length < 2 + n) throw new Malformed('bad length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[2 + i]!;
    header = 2 + n;
  }
  if (buf.length < header + length) throw new Malformed('truncated');
  return { tag, der: buf.subarray(0, header + length), content: buf.subarray(header, header + length) };
}

/** Where one element lies in a buffer: its tag and its content's bounds. */
export interface Span {
  readonly tag: number;
  readonly contentStart: number;
  /** Just past the element (its content's end). */
  readonly end: number;
}

/**
 * The element at `at` in `buf`, which must end by `limit`, read without copying: a CRL of
 * 300,000 entries is read as offsets, where an element Buffer each cost seconds.
 */
export function spanAt(buf: Buffer, at: number, limit: number): Span {
  if (limit - at < 2) throw new Malformed('truncated');
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || limit - at < 2 + n) throw new Malformed('bad length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[at + 2 + i]!;
    header = 2 + n;
  }
  if (limit - at < header + length) throw new Malformed('truncated');
  return { tag, contentStart: at + header, end: at + header + length };
}

/** The elements of a constructed element's content. */
export function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let rest = content; rest.length > 0; ) {
    const el = tlv(rest);
    out.push(el);
    rest = rest.subarray(el.der.length);
  }
  return out;
}

export const SEQUENCE = 0x30;
export const INTEGER = 0x02;
export const OID = 0x06;
export const BIT_STRING = 0x03;

export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;

export function time(el: Tlv): number {
  const s = el.content.toString('latin1');
  const m = el.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m === null) throw new Malformed(`a time ${s}`);
  let year = Number(m[1]);
  if (el.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export const isTime = (el: Tlv | undefined): el is Tlv => el !== undefined && (el.tag === UTC_TIME || el.tag === GENERALIZED_TIME);

