/**
 * gRPC's message framing, read: each message behind a 5-byte prefix (a compression flag, then its
 * length, big-endian), split across HTTP/2 DATA chunks or several in one. What grpc-js's stream
 * decoder does for a request, with its limit and its words for a message past it; the flag is not
 * read, as grpc-js does not read it for a request that named no encoding (compressed requests
 * are refused before their first message: src/transport/compression-gate.ts).
 */
const PREFIX_BYTES = 5;

export class MessageTooLargeError extends Error {}

export class MessageFrames {
  /** Bytes of an unfinished message (its prefix, perhaps in part, then its body so far). */
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  /** The unfinished message's length once its prefix is whole; null before. */
  private wanted: number | null = null;

  /** `maxMessageBytes`: the largest message taken (-1: no limit). */
  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes of memory the unfinished message keeps (the buffers its held bytes lie in, whole). */
  get retainedBytes(): number {
    return this.held.reduce((sum, b) => sum + b.buffer.byteLength, 0);
  }

  /** The messages `chunk` completes, each in a buffer of its own; throws MessageTooLargeError past the limit. */
  take(chunk: Buffer): Buffer[] {
    if (this.wanted !== null && this.heldBytes + chunk.byteLength < PREFIX_BYTES + this.wanted) {
      // The body of a large message still arriving: held, not joined again for every chunk.
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      return [];
    }
    let buf = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      buf = Buffer.concat(this.held, this.heldBytes + chunk.byteLength);
      this.held.length = 0;
      this.heldBytes = 0;
    }
    this.wanted = null;
    const out: Buffer[] = [];
    let at = 0;
    while (buf.byteLength - at >= PREFIX_BYTES) {
      const length = buf.readUInt32BE(at + 1);
      if (this.maxMessageBytes !== -1 && length > this.maxMessageBytes) throw new MessageTooLargeError(`Received message larger than max (${length} vs ${this.maxMessageBytes})`);
      if (buf.byteLength - at - PREFIX_BYTES < length) {
        this.wanted = length;
        break;
      }
      // Copied, as grpc-js copies it: a message may outlive the chunk it came in (a hello's manifest).
      out.push(Buffer.from(buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + length)));
      at += PREFIX_BYTES + length;
    }
    if (at < buf.byteLength) {
      // The rest lies in `chunk` once a message completed (the bytes held before were that
      // message's): held as a view of the chunk, as grpc-js's decoder holds it, not of the
      // buffer joined for the message, which a view would keep whole (up to the limit) while
      // the port's budget for unfinished requests counts only the rest (incomplete-requests.ts).
      const rest = buf.byteLength - at;
      this.held.push(buf !== chunk && at > 0 ? chunk.subarray(chunk.byteLength - rest) : buf.subarray(at));
      this.heldBytes = rest;
    }
    return out;
  }
}

/** A message behind gRPC's prefix: not compressed, its length (big-endian), its bytes. */
export function grpcFramed(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(message.byteLength + 5);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}
