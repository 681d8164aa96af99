/**
 * Reads the HTTP/2 frames a client sends on one cleartext connection, as a proxy sees them
 * chunk by chunk: the connection preface, then frames of a 9-byte header (length, type, flags,
 * stream) and a payload. For tests that count pings or stream resets on the wire.
 */
const PREFACE_BYTES = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const HEADER_BYTES = 9;

export const H2_RST_STREAM = 0x3;
export const H2_PING = 0x6;
const ACK = 0x1;

export interface H2Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  /** performance.now() when the chunk that completed it arrived. */
  readonly at: number;
}

export class H2ClientFrames {
  readonly frames: H2Frame[] = [];
  private pending = Buffer.alloc(0);
  private prefaceLeft = PREFACE_BYTES;

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.prefaceLeft > 0) {
      const skip = Math.min(this.prefaceLeft, this.pending.length);
      this.prefaceLeft -= skip;
      this.pending = this.pending.subarray(skip);
    }
    const at = performance.now();
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < HEADER_BYTES + length) break;
      this.frames.push({ type: this.pending[3]!, flags: this.pending[4]!, stream: this.pending.readUInt32BE(5) & 0x7fffffff, at });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
  }

  /** Pings the client sent of its own (not its answers to the server's). */
  pings(): number {
    return this.frames.filter((f) => f.type === H2_PING && (f.flags & ACK) === 0).length;
  }

  /** Streams the client reset (a cancelled call). */
  resets(): number {
    return this.frames.filter((f) => f.type === H2_RST_STREAM).length;
  }
}
