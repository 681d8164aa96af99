/**
 * The client half of HeartbeatStream for one peer: membership pings as messages on one open
 * stream, each pong matched to its ping by seq.
 *
 * Failures look like those of a unary ping: a refusal arrives as the stream's status and fails
 * every ping waiting on it with that code; a broken connection fails them as UNAVAILABLE; a
 * ping without a pong fails at its deadline as DEADLINE_EXCEEDED. A peer without the method
 * answers UNIMPLEMENTED, and `unsupported` tells the link to ping it with unary calls.
 */
import * as grpc from '@grpc/grpc-js';
import type { RefusalCode } from '../identity/index.js';
import { refusalOf } from './refusal-status.js';
import { isRecord, type WirePing } from './wire.js';

export interface PingFailure {
  readonly code: grpc.status;
  readonly details: string;
  /** The peer refused this node's identity, and said why. */
  readonly refusal?: RefusalCode | null;
  /** The trailers of the status that ended the stream, where its marks travel (not-addressee.ts). */
  readonly metadata?: grpc.Metadata;
}

interface Waiting {
  readonly resolve: (pong: Readonly<Record<string, unknown>>) => void;
  readonly reject: (failure: PingFailure) => void;
  readonly timer: NodeJS.Timeout;
}

export class HeartbeatStream {
  private call: grpc.ClientDuplexStream<unknown, unknown> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextSeq = 1;
  unsupported = false;

  constructor(
    private readonly client: grpc.Client,
    private readonly method: grpc.MethodDefinition<unknown, unknown>,
  ) {}

  /** Resolves with the raw pong; rejects with a PingFailure. */
  ping(ping: Omit<WirePing, 'seq'>, deadlineMs: number): Promise<Readonly<Record<string, unknown>>> {
    const call = this.call ?? this.open();
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject({ code: grpc.status.DEADLINE_EXCEEDED, details: `no pong within ${deadlineMs}ms` });
      }, deadlineMs);
      this.waiting.set(seq, { resolve, reject, timer });
      call.write({ ...ping, seq });
    });
  }

  close(): void {
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.failAll({ code: grpc.status.CANCELLED, details: 'link closed' });
  }

  private open(): grpc.ClientDuplexStream<unknown, unknown> {
    const { path, requestSerialize, responseDeserialize } = this.method;
    const call = this.client.makeBidiStreamRequest(path, requestSerialize, responseDeserialize);
    this.call = call;
    call.on('data', (pong: unknown) => {
      const raw = isRecord(pong) ? pong : {};
      const seq = raw['seq'];
      const w = typeof seq === 'number' ? this.waiting.get(seq) : undefined;
      if (w === undefined) return; // its deadline passed already
      this.waiting.delete(seq as number);
      clearTimeout(w.timer);
      w.resolve(raw);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      this.call = null;
      if (err.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      this.failAll({ code: err.code, details: err.details, refusal: refusalOf(err), metadata: err.metadata });
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.call = null;
      this.failAll({ code: grpc.status.UNAVAILABLE, details: 'the peer ended the heartbeat stream' });
    });
    return call;
  }

  private failAll(failure: PingFailure): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(failure);
    }
  }
}
