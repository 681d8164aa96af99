/**
 * A seeded burst of HTTP/2 traffic for the fuzzer: mostly-valid gRPC calls to the controller's
 * real methods, interleaved with resets at every point of a call, GOAWAYs mid-call, odd window
 * updates, settings, pings and priorities, reused stream ids, DATA after END_STREAM, odd
 * headers (grpc-timeout garbage, unknown grpc-encoding, te missing, huge values, CONTINUATION
 * splits) and odd gRPC framing (truncated prefixes, a compressed flag with no encoding). Pure:
 * the same seed makes the same bytes, so a failure replays from its seed.
 */
import { encodeAgentWire } from '../../src/agents/sync-codec.js';
import { encodeAgentMessage } from '../../src/agents/wire.js';
import { FLAG, FRAME, frame, goaway, grpcMessage, headerBlock, ping, priority, protobuf, rstStream, settings, windowUpdate, type HeaderField } from '../helpers/h2-wire.js';
import { peerMethods, type PeerContext } from './h2-peer-methods.js';

/**
 * H2FUZZ_TRACE=1: every op is written on its own and runConnection waits a little after each,
 * to tell which op the server answered with a GOAWAY or a reset (the bytes are the same, the
 * writes are not: a bug that needs two ops in one read may then hide).
 */
const traced = process.env['H2FUZZ_TRACE'] === '1';

/** mulberry32: small, fast and the same everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

export type Step =
  | { readonly kind: 'write'; readonly bytes: Buffer }
  /** Let the server read what was written before the next write (a turn of the loop). */
  | { readonly kind: 'pause' }
  /** Wait (200 ms at most) until the server's HEADERS on `stream` arrived: "after the answer starts". */
  | { readonly kind: 'await-answer'; readonly stream: number }
  /** Drop the connection at once, whatever is in flight. */
  | { readonly kind: 'cut' }
  /** Where op `op` (of ConnectionScript.ops) begins; nothing on the wire. */
  | { readonly kind: 'mark'; readonly op: number };

export interface ConnectionScript {
  readonly steps: Step[];
  /** What was done, op by op, for a failure's report. */
  readonly ops: string[];
}

export interface Burst {
  readonly seed: number;
  readonly connections: ConnectionScript[];
}

const hello = (id: string): Buffer =>
  encodeAgentWire(
    encodeAgentMessage({ type: 'hello', agentId: id, clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: `fz-${id}`, seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, hosts: [] }),
  );

interface Method {
  readonly path: string;
  /** Its request messages (a stream sends several). */
  readonly messages: (rng: Rng) => Buffer[];
}

const METHODS: readonly Method[] = [
  { path: '/controller.api.Controller/Put', messages: (r) => [protobuf([[1, `fz/k${r.int(20)}`], [2, Buffer.alloc(r.int(64), 0x61)]])] },
  { path: '/controller.api.Controller/Get', messages: (r) => [protobuf([[1, `fz/k${r.int(20)}`], [2, r.chance(0.5)]])] },
  { path: '/controller.api.Controller/Status', messages: () => [Buffer.alloc(0)] },
  { path: '/controller.api.Controller/Health', messages: () => [Buffer.alloc(0)] },
  { path: '/controller.api.Controller/Resources', messages: () => [Buffer.alloc(0)] },
  { path: '/controller.api.Controller/ListControllers', messages: () => [Buffer.alloc(0)] },
  { path: '/controller.api.Controller/KvSession', messages: (r) => Array.from({ length: 1 + r.int(3) }, () => protobuf([[1, r.int(1000)], [2, protobuf([[1, `fz/k${r.int(20)}`]])]])) },
  { path: '/controller.api.Operator/Watch', messages: (r) => [protobuf([[1, 'fz/'], [2, true], [3, r.int(3)]])] },
  { path: '/controller.api.Operator/Range', messages: () => [protobuf([[1, 'fz/']])] },
  { path: '/grpc.health.v1.Health/Check', messages: () => [protobuf([[1, '']])] },
  { path: '/grpc.health.v1.Health/Watch', messages: () => [protobuf([[1, '']])] },
  { path: '/controller.agents.AgentSync/Sync', messages: (r) => [hello(`fz${r.int(4)}`), ...(r.chance(0.5) ? [protobuf([[1, 4], [8, r.int(10)]])] : [])] },
  { path: '/controller.agents.Mesh/GetResources', messages: () => [Buffer.alloc(0)] },
  // A change of the mesh: a push to the Sync streams open meanwhile (hub-frames.ts writes it
  // straight to their HTTP/2 streams), some of them reset or flow-blocked.
  { path: '/controller.agents.Mesh/Apply', messages: (r) => [protobuf([[1, JSON.stringify([{ kind: 'service', name: `fz${r.int(8)}`, spec: { protocol: 'tcp', ports: [7000 + r.int(50)] }, labels: {} }])], [2, `fz-${r.int(1e9)}`], [3, 1]])] },
  { path: '/controller.peer.RaftPeer/Heartbeat', messages: () => [Buffer.alloc(0)] },
  { path: '/controller.api.Controller/NoSuchMethod', messages: () => [Buffer.alloc(0)] },
  { path: '/no.such.Service/Call', messages: () => [Buffer.alloc(0)] },
];

const TIMEOUTS = ['1S', '5m', '100m', '1x', '', '99999999999H', '-1S', '0n', '18446744073709551616u', 'S', '1.5S'];
const ERROR_CODES = [0, 1, 2, 3, 5, 7, 8, 11, 13, 0xffffffff];

/** The request's header fields, or a mutation of them. */
function headersFor(rng: Rng, path: string, wild: boolean): { fields: HeaderField[]; what: string } {
  const fields: HeaderField[] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
  if (rng.chance(0.3)) fields.push(['grpc-timeout', rng.pick(['1S', '5S', '200m'])]);
  if (rng.chance(wild ? 0.6 : 0.85)) return { fields, what: 'valid' };
  const mutation = rng.int(14);
  switch (mutation) {
    case 0:
      return { fields: fields.filter(([n]) => n !== 'te'), what: 'te missing' };
    case 1:
      return { fields: [...fields, ['grpc-timeout', rng.pick(TIMEOUTS)]], what: 'grpc-timeout odd' };
    case 2:
      return { fields: [...fields, ['grpc-encoding', rng.pick(['zzz', 'gzip', 'deflate', 'identity', ''])]], what: 'grpc-encoding' };
    case 3:
      return { fields: fields.map(([n, v]) => (n === 'content-type' ? [n, rng.pick(['text/plain', 'application/grpc+json', 'application/grpcx', ''])] : [n, v])), what: 'content-type odd' };
    case 4:
      return { fields: [...fields, ['x-fz', 'v'.repeat(rng.pick([100, 8_000, 17_000, 40_000, 70_000]))]], what: 'huge header' };
    case 5:
      return { fields: [...fields, ...Array.from({ length: rng.pick([50, 300, 2000]) }, (_, i): HeaderField => [`x-fz-${i}`, 'v'])], what: 'many headers' };
    case 6:
      return { fields: fields.filter(([n]) => n !== rng.pick([':method', ':path', ':scheme', ':authority'])), what: 'pseudo-header missing' };
    case 7:
      return { fields: [['x-first', '1'], ...fields], what: 'pseudo-header after a regular one' };
    case 8:
      return { fields: [...fields, ['X-Upper', '1']], what: 'upper-case name' };
    case 9:
      return { fields: fields.map(([n, v]) => (n === ':method' ? [n, rng.pick(['GET', 'PUT', 'CONNECT', ''])] : [n, v])), what: 'method odd' };
    case 10:
      return { fields: fields.map(([n, v]) => (n === ':path' ? [n, rng.pick(['', '/', '*', '//', `/${'a'.repeat(5000)}`, '/controller.api.Controller/Put?x=1', '/controller.api.Controller/put'])] : [n, v])), what: 'path odd' };
    case 11:
      return { fields: [...fields, ['connection', 'keep-alive']], what: 'connection header' };
    case 12:
      return { fields: [...fields, ['grpc-accept-encoding', 'zzz'], ['grpc-message', '%%%'], ['grpc-status', '0']], what: 'grpc response headers in a request' };
    default:
      return { fields: [...fields, [':path', path]], what: 'duplicate :path' };
  }
}

/** The DATA payloads of a call's messages, framed or misframed. */
function bodyFor(rng: Rng, messages: Buffer[]): { chunks: Buffer[]; what: string } {
  const framed = Buffer.concat(messages.map((m) => grpcMessage(m)));
  if (rng.chance(0.7)) {
    // Split the valid body at random points into several DATA frames.
    const cuts = Array.from({ length: rng.int(3) }, () => rng.int(framed.length + 1)).sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let at = 0;
    for (const c of [...cuts, framed.length]) {
      chunks.push(framed.subarray(at, c));
      at = c;
    }
    return { chunks, what: `valid in ${chunks.length}` };
  }
  switch (rng.int(6)) {
    case 0:
      return { chunks: [framed.subarray(0, rng.int(5))], what: 'truncated prefix' };
    case 1:
      return { chunks: [grpcMessage(messages[0]!, true)], what: 'compressed flag' };
    case 2: {
      const m = grpcMessage(messages[0]!);
      m.writeUInt32BE(rng.pick([m.length + 10, 0x7fffffff, 0xffffffff]), 1);
      return { chunks: [m], what: 'length past the data' };
    }
    case 3:
      return { chunks: [Buffer.from([rng.pick([2, 0x80, 0xff]), 0, 0, 0, 0])], what: 'flag byte odd' };
    case 4:
      return { chunks: [Buffer.alloc(0), Buffer.alloc(0), framed], what: 'empty DATA first' };
    default:
      return { chunks: [], what: 'no DATA' };
  }
}

/** Builds one connection's script. */
class ScriptBuilder {
  readonly steps: Step[] = [];
  readonly ops: string[] = [];
  private nextId = 1;
  /** Streams opened so far. */
  private readonly opened: number[] = [];
  private pending: Buffer[] = [];

  /**
   * A wild connection sends what HTTP/2 calls connection errors too (a header block cut short, a
   * zero window update on the connection, invalid settings, frames on stream 0 or on ids never
   * opened): the server ends it at the first, so a calm one keeps to stream errors and odd gRPC,
   * and gets further into its script.
   */
  constructor(
    private readonly rng: Rng,
    private readonly wild: boolean,
    private readonly methods: readonly Method[],
  ) {}

  private emit(b: Buffer): void {
    this.pending.push(b);
    // A write boundary now and then: the server reads the rest in another turn.
    if (this.rng.chance(0.15)) this.flush(this.rng.chance(0.5));
  }

  flush(pause: boolean): void {
    if (this.pending.length > 0) this.steps.push({ kind: 'write', bytes: Buffer.concat(this.pending) });
    this.pending = [];
    if (pause) this.steps.push({ kind: 'pause' });
  }

  /** Notes op `what`; its bytes follow. */
  op(what: string): void {
    this.ops.push(what);
    if (traced) {
      this.flush(false);
      this.steps.push({ kind: 'mark', op: this.ops.length - 1 });
    }
  }

  private newId(): number {
    const id = this.nextId;
    this.nextId += 2;
    this.opened.push(id);
    return id;
  }

  private anyStream(): number {
    const r = this.rng.int(10);
    if ((r < 6 || !this.wild) && this.opened.length > 0) return this.rng.pick(this.opened); // control() sees to it for a calm one
    if (r < 8) return this.nextId + 2 * this.rng.int(4); // not yet opened
    return this.rng.pick([0, 2, 0x7fffffff]);
  }

  /** HEADERS (maybe with CONTINUATIONs), DATA, with a reset or GOAWAY at some point of it. */
  call(): void {
    const rng = this.rng;
    const method = rng.pick(this.methods);
    const reused = this.wild && this.opened.length > 0 && rng.chance(0.08);
    const id = reused ? rng.pick(this.opened) : this.newId();
    const headers = headersFor(rng, method.path, this.wild);
    const body = bodyFor(rng, method.messages(rng));
    const endStream = rng.chance(0.8);
    // Where the call is interrupted: 0 none, 1 mid header block, 2 after headers, 3 between
    // DATA frames, 4 after END_STREAM, 5 after the answer starts.
    const cutAt = rng.chance(0.5) ? 0 : this.wild ? 1 + rng.int(5) : 2 + rng.int(4);
    const interrupt = (): void => {
      if (rng.chance(0.8)) this.emit(rstStream(id, rng.pick(ERROR_CODES)));
      else if (this.wild) this.emit(goaway(rng.chance(0.5) ? id : 0, rng.pick([0, 2, 11])));
      else this.emit(rstStream(id, 8));
    };
    this.op(`call ${id}${reused ? ' (reused id)' : ''} ${method.path} headers:${headers.what} body:${body.what}${endStream ? '' : ' open'} cut:${cutAt}`);
    const pieces: Buffer[] = [];
    const block = headerBlock(headers.fields);
    // Node ends a connection whose header block comes in more than a few CONTINUATIONs
    // (CVE-2024-27983's fix): a calm connection keeps to four pieces at most.
    const pieceSize = rng.chance(0.3) ? (this.wild ? 1 + rng.int(64) : Math.max(1 + rng.int(64), Math.ceil(block.length / 4))) : 16_384;
    for (let at = 0; at < block.length || at === 0; at += pieceSize) pieces.push(block.subarray(at, at + pieceSize));
    const endWithHeaders = body.chunks.length === 0 && endStream;
    pieces.forEach((piece, i) => {
      const first = i === 0;
      const last = i === pieces.length - 1;
      if (cutAt === 1 && last && !first) {
        interrupt();
        return;
      }
      const flags = (last ? FLAG.END_HEADERS : 0) | (first && endWithHeaders ? FLAG.END_STREAM : 0);
      this.emit(frame(first ? FRAME.HEADERS : FRAME.CONTINUATION, flags, id, piece));
    });
    if (cutAt === 1 && pieces.length === 1) interrupt();
    if (cutAt === 2) interrupt();
    body.chunks.forEach((chunk, i) => {
      const last = i === body.chunks.length - 1;
      const padded = rng.chance(0.1);
      const payload = padded ? Buffer.concat([Buffer.from([3]), chunk, Buffer.alloc(3)]) : chunk;
      this.emit(frame(FRAME.DATA, (last && endStream ? FLAG.END_STREAM : 0) | (padded ? FLAG.PADDED : 0), id, payload));
      if (cutAt === 3 && !last) interrupt();
    });
    if (cutAt === 4) {
      if (this.wild && rng.chance(0.5)) this.emit(frame(FRAME.DATA, 0, id, grpcMessage(Buffer.alloc(0)))); // DATA after END_STREAM
      interrupt();
    }
    if (cutAt === 5) {
      this.flush(false);
      this.steps.push({ kind: 'await-answer', stream: id });
      interrupt();
    }
  }

  /** The known crash: many streams opened and reset in one write. */
  resetFlood(): void {
    const n = this.rng.pick([50, 150, 300, 600]);
    // Half on a path with no method, or a content-type not gRPC's: grpc-js answers those from
    // the stream's event itself (attack round 17's crash, on a stream already gone).
    const path = this.rng.chance(0.5) ? this.rng.pick(['/no.such.Service/Call', '/controller.api.Controller/NoSuchMethod']) : this.rng.pick(this.methods).path;
    const contentType = this.rng.chance(0.2) ? 'text/plain' : 'application/grpc';
    this.op(`reset flood ${n} ${path} ${contentType}`);
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.newId();
      out.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ['content-type', contentType], ['te', 'trailers']])));
      out.push(frame(FRAME.DATA, this.rng.chance(0.5) ? FLAG.END_STREAM : 0, id, grpcMessage(Buffer.alloc(0))));
      out.push(rstStream(id, 8));
    }
    this.emit(Buffer.concat(out));
  }

  control(): void {
    const rng = this.rng;
    if (!this.wild && this.opened.length === 0) {
      // Frames on a stream never opened are connection errors.
      this.op('ping');
      this.emit(ping(false, Buffer.alloc(8, 1)));
      return;
    }
    const kind = rng.int(this.wild ? 9 : 6);
    // An unasked SETTINGS ACK is a connection error: wild only.
    switch (!this.wild && kind === 2 ? 3 : kind) {
      case 0: {
        const stream = rng.chance(0.5) ? 0 : this.anyStream();
        const inc = this.wild || stream !== 0 ? rng.pick([0, 1, 0x7fffffff, rng.int(0x7fffffff), 0x80000000]) : rng.pick([1, 0x7fffffff - 65_535, 1 + rng.int(1 << 20)]);
        this.op(`window update ${stream} +${inc}`);
        this.emit(windowUpdate(stream, inc));
        break;
      }
      case 1: {
        const params: Array<[number, number]> = this.wild
          ? Array.from({ length: 1 + rng.int(3) }, () => [rng.pick([1, 2, 3, 4, 5, 6, 8, 0x99]), rng.pick([0, 1, 100, 16_383, 16_384, 65_535, 0x7fffffff, 0x80000000, 16_777_216])])
          : [[rng.pick([1, 3, 4, 6, 0x99]), rng.pick([0, 1, 100, 4096, 65_535, 0x7fffffff])], [2, 0]];
        this.op(`settings ${JSON.stringify(params)}`);
        this.emit(settings(params));
        break;
      }
      case 2:
        this.op('settings ack unasked');
        this.emit(settings([], true));
        break;
      case 3:
        this.op('ping');
        this.emit(ping(rng.chance(0.2), this.wild && rng.chance(0.1) ? Buffer.alloc(rng.int(12)) : Buffer.alloc(8, 1)));
        break;
      case 4: {
        const stream = this.anyStream();
        const other = this.anyStream();
        const dep = this.wild && rng.chance(0.3) ? stream : other === stream ? 0 : other;
        this.op(`priority ${stream} on ${dep}`);
        this.emit(priority(stream, dep, rng.int(256), rng.chance(0.5)));
        break;
      }
      case 5: {
        const stream = this.anyStream();
        this.op(`rst ${stream}`);
        this.emit(rstStream(stream, rng.pick(ERROR_CODES)));
        break;
      }
      case 6: {
        const stream = this.anyStream();
        this.op(`data on ${stream}`);
        this.emit(frame(FRAME.DATA, rng.chance(0.5) ? FLAG.END_STREAM : 0, stream, grpcMessage(Buffer.alloc(rng.int(32)))));
        break;
      }
      case 7: {
        const stream = this.opened.length > 0 ? rng.pick(this.opened) : 1;
        this.op(`trailers on ${stream}`);
        this.emit(frame(FRAME.HEADERS, FLAG.END_HEADERS | (rng.chance(0.5) ? FLAG.END_STREAM : 0), stream, headerBlock([['x-trailer', '1']])));
        break;
      }
      default: {
        this.op('goaway');
        this.emit(goaway(rng.chance(0.5) ? 0 : this.nextId, rng.pick([0, 1, 2, 11])));
      }
    }
  }
}

function connectionScript(rng: Rng, methods: readonly Method[]): ConnectionScript {
  const wild = rng.chance(0.35);
  const b = new ScriptBuilder(rng, wild, methods);
  b.ops.push(wild ? 'wild' : 'calm');
  const ops = 3 + rng.int(25);
  for (let i = 0; i < ops; i++) {
    const r = rng.next();
    if (r < 0.6) b.call();
    else if (r < 0.63) b.resetFlood();
    else b.control();
  }
  b.flush(false);
  if (rng.chance(0.2)) {
    b.steps.push({ kind: 'cut' });
    b.ops.push('cut');
  }
  return { steps: b.steps, ops: b.ops };
}

/**
 * The burst of `seed`: one to three connections' scripts, run side by side. With `peer` (the
 * fuzzer holds a member's certificate), two calls in three go to the peer port's RPCs.
 */
export function burstOf(seed: number, peer?: PeerContext): Burst {
  const rng = new Rng(seed);
  const n = 1 + rng.int(3);
  const methods = peer === undefined ? METHODS : [...METHODS, ...Array.from({ length: 4 }, () => peerMethods(peer)).flat()];
  return { seed, connections: Array.from({ length: n }, () => connectionScript(rng, methods)) };
}
