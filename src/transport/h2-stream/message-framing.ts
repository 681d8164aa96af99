/**
 * gRPC's message framing on an HTTP/2 stream: each message is a 1-byte compressed flag, a 4-byte
 * big-endian length and the bytes (grpc/doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
 * This client asks for no compression (grpc-accept-encoding: identity), so a compressed message
 * is the server's error.
 */
import { StreamCallError } from './call-error.js';
import { status } from './status-codes.js';

const PREFIX_BYTES = 5;

/** `payload` with its 5-byte prefix, in one buffer (one DATA frame for a small message). */
export function frameMessage(payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  framed[0] = 0;
  framed.writeUInt32BE(payload.length, 1);
  payload.copy(framed, PREFIX_BYTES);
  return framed;
}

/**
 * Cuts the bytes of one stream into messages. A message usually arrives whole in one chunk and
 * is handed on as a view of it; only a message split across chunks is copied.
 */
export class MessageReader {
  /** Bytes of an unfinished prefix or message, kept from earlier chunks. */
  private pending: Buffer | null = null;

  /** `maxBytes`: the largest message taken; a longer one is RESOURCE_EXHAUSTED, as grpc-js's max_receive_message_length. */
  constructor(private readonly maxBytes: number) {}

  /** The messages `chunk` completes, in order. Throws StreamCallError for a message this client cannot take. */
  read(chunk: Buffer): Buffer[] {
    let buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    const out: Buffer[] = [];
    while (buf.length >= PREFIX_BYTES) {
      const flag = buf[0]!;
      const length = buf.readUInt32BE(1);
      if (flag !== 0) {
        throw new StreamCallError(status.INTERNAL, flag === 1 ? 'a compressed message, though this client asked for none' : `a message with flags ${flag}`);
      }
      if (length > this.maxBytes) throw new StreamCallError(status.RESOURCE_EXHAUSTED, `a message of ${length} bytes, more than the ${this.maxBytes} taken`);
      if (buf.length < PREFIX_BYTES + length) break;
      out.push(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + length));
      buf = buf.subarray(PREFIX_BYTES + length);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
    return out;
  }

  /** Whether bytes of an unfinished message are held (a stream that ends so was cut). */
  get midMessage(): boolean {
    return this.pending !== null;
  }
}
