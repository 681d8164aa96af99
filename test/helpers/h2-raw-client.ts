/**
 * An HTTP/2 client written by hand (on a cleartext socket, or over TLS), for what Node's own client will not do:
 * it never acknowledges the server's SETTINGS (so nothing the server announced applies to it),
 * and it sends header blocks as large as asked (HEADERS then CONTINUATION frames, every field a
 * literal HPACK never indexes). It reads back only frame types and RST_STREAM/GOAWAY codes.
 */
import net from 'node:net';
import tls from 'node:tls';
import { frame, hpackString, literal } from './h2-wire.js';

const FRAME_HEADERS = 0x1;
const FRAME_DATA = 0x0;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_PING = 0x6;
const FRAME_GOAWAY = 0x7;
const FRAME_CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const MAX_FRAME_PAYLOAD = 16_384;

/** A POST to `path` with gRPC's headers and `extra` fields. */
function requestBlock(path: string, extra: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6; servers do not check it)
    Buffer.concat([Buffer.from([0x04]), hpackString(path)]), // :path, name from the static table
    Buffer.concat([Buffer.from([0x01]), hpackString('localhost')]), // :authority
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
    ...extra.map(([n, v]) => literal(n, v)),
  ]);
}

export interface RawH2Frames {
  /** Frame types received, in order. */
  readonly types: number[];
  /** RST_STREAM error codes received. */
  readonly resets: number[];
  /** GOAWAY error codes received. */
  readonly goaways: number[];
  closed: boolean;
}

export class RawH2Client {
  readonly seen: RawH2Frames = { types: [], resets: [], goaways: [], closed: false };
  private nextStream = 1;
  private pending = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => (this.seen.closed = true));
    socket.on('error', () => undefined);
  }

  /**
   * Connects, sends the preface and an empty SETTINGS; never acknowledges the server's. With
   * `secure`, over TLS (ALPN h2) with those options: the CA, the client's certificate and key.
   */
  static async connect(host: string, port: number, secure?: tls.ConnectionOptions): Promise<RawH2Client> {
    const socket = secure === undefined ? net.connect(port, host) : tls.connect({ ...secure, host, port, ALPNProtocols: ['h2'] });
    await new Promise<void>((resolve, reject) => {
      socket.once(secure === undefined ? 'connect' : 'secureConnect', resolve);
      socket.once('error', reject);
    });
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)));
    return new RawH2Client(socket);
  }

  /** A unary gRPC call to `path` with `extra` header fields and `message` as its one message, ended. */
  call(path: string, extra: ReadonlyArray<readonly [string, string]>, message: Buffer): number {
    const id = this.nextStream;
    this.nextStream += 2;
    const block = requestBlock(path, extra);
    const out: Buffer[] = [];
    for (let at = 0; at < block.length || at === 0; at += MAX_FRAME_PAYLOAD) {
      const last = at + MAX_FRAME_PAYLOAD >= block.length;
      out.push(frame(at === 0 ? FRAME_HEADERS : FRAME_CONTINUATION, last ? END_HEADERS : 0, id, block.subarray(at, at + MAX_FRAME_PAYLOAD)));
    }
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    out.push(frame(FRAME_DATA, END_STREAM, id, Buffer.concat([prefix, message])));
    this.socket.write(Buffer.concat(out));
    return id;
  }

  /**
   * A unary gRPC call to `path` whose message announces `announced` bytes and then comes one byte
   * a DATA frame, `bytes` of them, never ended (mind the stream's window: 65,535 by default).
   * `first`: bytes sent before that message's prefix, in the same frame (a whole message, say).
   */
  trickle(path: string, announced: number, bytes: number, first: Buffer = Buffer.alloc(0)): number {
    const id = this.nextStream;
    this.nextStream += 2;
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(announced, 1);
    const out = [frame(FRAME_HEADERS, END_HEADERS, id, requestBlock(path, [])), frame(FRAME_DATA, 0, id, Buffer.concat([first, prefix]))];
    this.socket.write(Buffer.concat(out));
    this.oneByteFrames(id, bytes);
    return id;
  }

  /** `bytes` DATA frames of one byte each on stream `id`, not ending it. */
  oneByteFrames(id: number, bytes: number): void {
    const one = frame(FRAME_DATA, 0, id, Buffer.from([0x61]));
    this.socket.write(Buffer.concat(Array.from({ length: bytes }, () => one)));
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) return;
      const type = this.pending[3]!;
      const flags = this.pending[4]!;
      const payload = this.pending.subarray(9, 9 + length);
      this.seen.types.push(type);
      if (type === FRAME_RST_STREAM) this.seen.resets.push(payload.readUInt32BE(0));
      if (type === FRAME_GOAWAY) this.seen.goaways.push(payload.readUInt32BE(4));
      // Pings are answered (a silent client would be closed for it), SETTINGS never.
      if (type === FRAME_PING && (flags & ACK) === 0) this.socket.write(frame(FRAME_PING, ACK, 0, Buffer.from(payload)));
      this.pending = this.pending.subarray(9 + length);
    }
  }
}
