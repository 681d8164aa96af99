/**
 * HTTP/2 bytes encoded by hand, for the fuzzer and the tests that write raw frames, so that
 * nothing between them and the server fixes them up: frames (RFC 9113, 4.1), HPACK literals never indexed (RFC 7541, 6.2.3:
 * no dynamic table to keep in step with the server), gRPC's 5-byte message prefix, and the few
 * protobuf fields the fuzzed requests carry.
 */
export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([header, payload]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export function rstStream(stream: number, code: number): Buffer {
  return frame(FRAME.RST_STREAM, 0, stream, u32(code));
}

export function windowUpdate(stream: number, increment: number): Buffer {
  return frame(FRAME.WINDOW_UPDATE, 0, stream, u32(increment));
}

export function ping(ack: boolean, data: Buffer = Buffer.alloc(8)): Buffer {
  return frame(FRAME.PING, ack ? FLAG.ACK : 0, 0, data);
}

export function settings(params: ReadonlyArray<readonly [number, number]>, ack = false): Buffer {
  const payload = Buffer.alloc(6 * params.length);
  params.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value >>> 0, 6 * i + 2);
  });
  return frame(FRAME.SETTINGS, ack ? FLAG.ACK : 0, 0, payload);
}

export function goaway(lastStream: number, code: number, debug = Buffer.alloc(0)): Buffer {
  return frame(FRAME.GOAWAY, 0, 0, Buffer.concat([u32(lastStream), u32(code), debug]));
}

export function priority(stream: number, dependsOn: number, weight: number, exclusive: boolean): Buffer {
  return frame(FRAME.PRIORITY, 0, stream, Buffer.concat([u32((exclusive ? 0x80000000 : 0) | dependsOn), Buffer.from([weight & 0xff])]));
}

/** An HPACK integer with an n-bit prefix (RFC 7541, 5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

export function hpackString(s: string): Buffer {
  return Buffer.concat([hpackInt(Buffer.byteLength(s), 7, 0), Buffer.from(s)]);
}

export type HeaderField = readonly [string, string];

/** A field as a literal without indexing, its name a literal too. */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)]);
}

/** A header block: every field a literal without indexing. */
export function headerBlock(fields: readonly HeaderField[]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literal(n, v)));
}

/** gRPC's length-prefixed message: a compressed flag, a 4-byte length, the bytes. */
export function grpcMessage(body: Buffer, compressedFlag = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressedFlag ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A protobuf message of the fields given: numbers as varints, strings and bytes length-delimited. */
export function protobuf(fields: ReadonlyArray<readonly [number, number | string | Buffer | boolean]>): Buffer {
  return Buffer.concat(
    fields.map(([no, value]) => {
      if (typeof value === 'number' || typeof value === 'boolean') return Buffer.concat([varint(no * 8), varint(Number(value))]);
      const bytes = typeof value === 'string' ? Buffer.from(value) : value;
      return Buffer.concat([varint(no * 8 + 2), varint(bytes.length), bytes]);
    }),
  );
}
