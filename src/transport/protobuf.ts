/**
 * Protobuf wire format by hand, for the few messages every peer exchanges many times a second
 * (Step batches, heartbeat pings and pongs: proto/peer.proto). proto-loader turns each message
 * into protobufjs objects and back (fromObject, encode, decode, toObject with defaults), which
 * costs tens of microseconds per batch; these functions write and read the same bytes directly.
 * The bytes are those proto-loader produces: it writes every field present in the object it is
 * given, defaults included (protobufjs checks presence, not value), so the callers write every
 * field the old plain objects had, and peers of any version see the same bytes as before.
 *
 * The reader is strict at every level: a field that runs past the end of its message, a
 * varint longer than 10 bytes, field number 0 or a group fails with MalformedMessageError
 * (protobufjs would silently cut a string short: see strict-decode.ts).
 */
import { MalformedMessageError } from './strict-decode.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

// ---- writing ------------------------------------------------------------------------------

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  let rest = Math.floor(v / 0x10000000);
  while (rest > 0) {
    n++;
    rest = Math.floor(rest / 128);
  }
  return n;
}

export function tagSize(field: number): number {
  return varintSize(field * 8);
}

/** Bytes of a length-delimited field holding `len` bytes, with its tag. */
export function lenFieldSize(field: number, len: number): number {
  return tagSize(field) + varintSize(len) + len;
}

/** Bytes of a varint field with its tag (written even when 0, as protobufjs does). */
export function varintFieldSize(field: number, v: number): number {
  return tagSize(field) + varintSize(v);
}

export function boolFieldSize(field: number, _v: boolean): number {
  return tagSize(field) + 1;
}

export function bytesFieldSize(field: number, b: Uint8Array): number {
  return lenFieldSize(field, b.byteLength);
}

export function doubleFieldSize(field: number, _v: number): number {
  return tagSize(field) + 8;
}

export function utf8Size(s: string): number {
  // Ids and names are ASCII in practice: the length is the byte count unless a code unit is not.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

export function stringFieldSize(field: number, s: string): number {
  return lenFieldSize(field, utf8Size(s));
}

/** Writes into a buffer sized beforehand (with the *Size functions above); every field given is written. */
export class Writer {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uintField(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  boolField(field: number, v: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  stringField(field: number, s: string): void {
    this.tag(field, WIRE_BYTES);
    const len = utf8Size(s);
    this.varint(len);
    if (len === s.length) {
      for (let i = 0; i < len; i++) this.buf[this.pos++] = s.charCodeAt(i);
    } else {
      this.pos += this.buf.write(s, this.pos, 'utf8');
    }
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  doubleField(field: number, v: number): void {
    this.tag(field, WIRE_FIXED64);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** The header of an embedded message of `len` bytes; its fields follow. */
  messageHeader(field: number, len: number): void {
    this.tag(field, WIRE_BYTES);
    this.varint(len);
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`invariant: wrote ${this.pos} bytes into a buffer of ${this.buf.length}`);
    return this.buf;
  }
}

// ---- reading ------------------------------------------------------------------------------

/** Reads one message (or an embedded one: `end` bounds it). */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedMessageError(`malformed protobuf: a varint runs past the end at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return value;
    }
    throw new MalformedMessageError(`malformed protobuf: a varint longer than 10 bytes ends at byte ${this.pos}`);
  }

  /** The next tag: [field, wire type]. */
  tag(): [number, number] {
    const start = this.pos;
    const tag = this.varint();
    // A tag is a uint32 (field numbers end at 2^29 - 1): a longer varint is not one.
    if (tag > 0xffffffff) throw new MalformedMessageError(`malformed protobuf: a tag longer than 32 bits at byte ${start}`);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new MalformedMessageError(`malformed protobuf: field number 0 at byte ${start}`);
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_BYTES && wire !== WIRE_FIXED32) {
      throw new MalformedMessageError(`malformed protobuf: field ${field} at byte ${start} has unsupported wire type ${wire}`);
    }
    return [field, wire];
  }

  private need(n: number, field: number): void {
    if (this.pos + n > this.end) {
      throw new MalformedMessageError(`malformed protobuf: field ${field} at byte ${this.pos} needs ${this.pos + n - this.end} more byte(s) than the message has`);
    }
  }

  /** The bounds of a length-delimited field's contents: [start, end]; moves past it. */
  span(field: number): [number, number] {
    const len = this.varint();
    this.need(len, field);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  /**
   * `buf` as a Buffer, made at the first string read (none when `buf` is one): a Buffer made
   * per string field was half of a string's decode, and an agent's every ACK carries some.
   */
  private text: Buffer | null = null;

  string(field: number): string {
    const [start, end] = this.span(field);
    this.text ??= Buffer.isBuffer(this.buf) ? this.buf : Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.text.toString('utf8', start, end);
  }

  /** A view into the received buffer, as protobufjs gives: whoever keeps it copies it, so a
   * message never pins the (larger) buffer it came in. */
  bytes(field: number): Uint8Array {
    const [start, end] = this.span(field);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }

  double(field: number): number {
    this.need(8, field);
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, 8).readDoubleLE(0);
    this.pos += 8;
    return v;
  }

  /** Skips a field of a type this reader does not expect (as protobuf readers must). */
  skipUnknownField(field: number, wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.need(8, field);
        this.pos += 8;
        return;
      case WIRE_BYTES:
        this.span(field);
        return;
      case WIRE_FIXED32:
        this.need(4, field);
        this.pos += 4;
        return;
      default:
        throw new MalformedMessageError(`malformed protobuf: field ${field} has unsupported wire type ${wire}`);
    }
  }
}
