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
 * is handed on as a view of it. A message split across chunks is gathered as a list of its
 * chunks and joined once when complete, as grpc-js's decoder does: joining the held bytes anew
 * with every chunk copied a message of n chunks n times (a 16 MB push in 16 KiB DATA frames took
 * 3 s of the agent's event loop, from an older controller that sends pushes whole).
 */
export class MessageReader {
  /** The first bytes of a prefix that has not all arrived (fewer than PREFIX_BYTES). */
  private prefix: Buffer | null = null;
  /** A message whose prefix has arrived and whose bytes are still coming. */
  private body: { readonly chunks: Buffer[]; have: number; readonly need: number } | null = null;

  /** `maxBytes`: the largest message taken; a longer one is RESOURCE_EXHAUSTED, as grpc-js's max_receive_message_length. */
  constructor(private readonly maxBytes: number) {}

  /** The messages `chunk` completes, in order. Throws StreamCallError for a message this client cannot take. */
  read(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = chunk;
    const body = this.body;
    if (body !== null) {
      const take = Math.min(body.need - body.have, buf.length);
      body.chunks.push(buf.subarray(0, take));
      body.have += take;
      buf = buf.subarray(take);
      if (body.have < body.need) return out;
      out.push(body.chunks.length === 1 ? body.chunks[0]! : Buffer.concat(body.chunks, body.need));
      this.body = null;
    } else if (this.prefix !== null) {
      // At most four bytes held: joining them is cheap.
      buf = Buffer.concat([this.prefix, buf]);
      this.prefix = null;
    }
    while (buf.length >= PREFIX_BYTES) {
      const flag = buf[0]!;
      const length = buf.readUInt32BE(1);
      if (flag !== 0) {
        throw new StreamCallError(status.INTERNAL, flag === 1 ? 'a compressed message, though this client asked for none' : `a message with flags ${flag}`);
      }
      if (length > this.maxBytes) throw new StreamCallError(status.RESOURCE_EXHAUSTED, `a message of ${length} bytes, more than the ${this.maxBytes} taken`);
      if (buf.length < PREFIX_BYTES + length) {
        this.body = { chunks: [buf.subarray(PREFIX_BYTES)], have: buf.length - PREFIX_BYTES, need: length };
        return out;
      }
      out.push(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + length));
      buf = buf.subarray(PREFIX_BYTES + length);
    }
    if (buf.length > 0) this.prefix = Buffer.from(buf);
    return out;
  }

  /** Whether bytes of an unfinished message are held (a stream that ends so was cut). */
  get midMessage(): boolean {
    return this.prefix !== null || this.body !== null;
  }
}
