/**
 * The server half of the transport: the RaftPeer handlers. Everything a peer sends is checked
 * (cluster, sender, addressee, message contents) before any of it reaches the node; a refused
 * batch delivers nothing.
 */
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../raft/messages.js';
import { decodeMessage } from './codec.js';
import { ProtocolError, TransportError } from './errors.js';
import { SnapshotAssembler } from './snapshot-stream.js';
import { describeValue, isRecord, type WirePong } from './wire.js';

export interface Counters {
  sent: number;
  dropped: number;
  refused: number;
}

export interface PeerServiceContext {
  readonly self: string;
  readonly clusterName: string;
  readonly maxSnapshotBytes: number;
  readonly isKnownPeer: (id: string) => boolean;
  readonly onMessage: (m: Message) => void;
  readonly onHeartbeat: (from: string, payload: Uint8Array) => Uint8Array;
  readonly counters: Counters;
  readonly isClosed: () => boolean;
  /** Rate-limited by the caller per key. */
  readonly warn: (key: string, obj: object, msg: string) => void;
}

function refuse(code: grpc.status, details: string): TransportError {
  return new TransportError('REFUSED', details, code);
}

function asStatus(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof TransportError && err.grpcCode !== null) return { code: err.grpcCode, details: err.message };
  if (err instanceof ProtocolError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  return { code: grpc.status.INTERNAL, details: `peer transport: ${err instanceof Error ? err.message : String(err)}` };
}

export class PeerService {
  constructor(private readonly ctx: PeerServiceContext) {}

  implementation(): grpc.UntypedServiceImplementation {
    return {
      Step: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.step(call.request, callback),
      StepStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => this.stepStream(call),
      InstallSnapshot: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.installSnapshot(call, callback),
      Heartbeat: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.heartbeat(call.request, callback),
      HeartbeatStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => this.heartbeatStream(call),
    };
  }

  /** Throws REFUSED unless the sender belongs to our cluster and addressed us. */
  private checkSender(cluster: unknown, from: unknown, to: unknown): string {
    const ctx = this.ctx;
    if (ctx.isClosed()) throw refuse(grpc.status.UNAVAILABLE, `peer transport of ${ctx.self} is closed`);
    if (cluster !== ctx.clusterName) {
      throw refuse(
        grpc.status.PERMISSION_DENIED,
        `cluster name mismatch: expected ${JSON.stringify(ctx.clusterName)}, found ${describeValue(cluster)}`,
      );
    }
    if (typeof from !== 'string' || from === '' || !ctx.isKnownPeer(from)) {
      throw refuse(
        grpc.status.PERMISSION_DENIED,
        `unknown sender: expected a member of cluster ${JSON.stringify(ctx.clusterName)}, found ${describeValue(from)}`,
      );
    }
    if (to !== ctx.self) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `misdirected: expected to=${JSON.stringify(ctx.self)}, found ${describeValue(to)}`);
    }
    return from;
  }

  private refused(count: number, err: unknown, from: unknown): { code: grpc.status; details: string } {
    const status = asStatus(err);
    this.ctx.counters.refused += count;
    this.ctx.warn(`refuse:${String(from)}:${status.code}`, { from, code: grpc.status[status.code] }, `refused peer RPC: ${status.details}`);
    return status;
  }

  private step(request: unknown, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(request) ? request : {};
    const rawMessages = raw['messages'];
    const count = Array.isArray(rawMessages) ? Math.max(1, rawMessages.length) : 1;
    let messages: Message[];
    try {
      messages = this.checkBatch(raw, rawMessages);
    } catch (err) {
      callback(this.refused(count, err, raw['from']));
      return;
    }
    for (const m of messages) this.deliver(m);
    callback(null, {});
  }

  /** Step batches on one stream, each acknowledged; a refused batch ends the stream with its status. */
  private stepStream(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    let settled = false;
    call.on('data', (request: unknown) => {
      if (settled) return;
      const raw = isRecord(request) ? request : {};
      const rawMessages = raw['messages'];
      let messages: Message[];
      try {
        messages = this.checkBatch(raw, rawMessages);
      } catch (err) {
        settled = true;
        const status = this.refused(Array.isArray(rawMessages) ? Math.max(1, rawMessages.length) : 1, err, raw['from']);
        // Ends the call with this status (grpc-js turns a stream 'error' into the trailers).
        call.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      for (const m of messages) this.deliver(m);
      call.write({});
    });
    call.on('end', () => {
      if (!settled) call.end();
      settled = true;
    });
    call.on('error', () => {
      settled = true;
    });
  }

  private checkBatch(raw: Readonly<Record<string, unknown>>, rawMessages: unknown): Message[] {
    const from = this.checkSender(raw['cluster'], raw['from'], raw['to']);
    if (!Array.isArray(rawMessages)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `messages: expected an array, found ${describeValue(rawMessages)}`);
    }
    return rawMessages.map((r: unknown, i) => {
      let m: Message;
      try {
        m = decodeMessage(r);
      } catch (err) {
        if (err instanceof ProtocolError) throw refuse(grpc.status.INVALID_ARGUMENT, `messages[${i}]: ${err.message}`);
        throw err;
      }
      if (m.from !== from || m.to !== this.ctx.self) {
        throw refuse(
          grpc.status.INVALID_ARGUMENT,
          `messages[${i}]: expected from=${JSON.stringify(from)} to=${JSON.stringify(this.ctx.self)} as in the batch, ` +
            `found from=${JSON.stringify(m.from)} to=${JSON.stringify(m.to)}`,
        );
      }
      if (m.type === 'InstallSnapshot') {
        throw refuse(
          grpc.status.INVALID_ARGUMENT,
          `messages[${i}]: expected InstallSnapshot on the InstallSnapshot stream, found it in a Step batch`,
        );
      }
      return m;
    });
  }

  private deliver(m: Message): void {
    try {
      this.ctx.onMessage(m);
    } catch (err) {
      // The node's own bug must not be reported to the sender as a protocol error.
      this.ctx.warn('onMessage', { err, type: m.type, from: m.from }, 'onMessage threw');
    }
  }

  private installSnapshot(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const assembler = new SnapshotAssembler(this.ctx.maxSnapshotBytes, (cluster, m) => {
      this.checkSender(cluster, m.from, m.to);
    });
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      callback(this.refused(1, err, assembler.from));
    };
    call.on('data', (chunk: unknown) => {
      if (settled) return;
      try {
        assembler.add(chunk);
      } catch (err) {
        fail(err);
      }
    });
    call.on('end', () => {
      if (settled) return;
      let m: Message;
      try {
        m = assembler.finish();
      } catch (err) {
        fail(err);
        return;
      }
      settled = true;
      this.deliver(m);
      callback(null, {});
    });
    // A cancelled or broken stream: the sender learns from its own call status.
    call.on('error', () => {
      settled = true;
    });
  }

  private heartbeat(request: unknown, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(request) ? request : {};
    try {
      callback(null, this.pong(raw));
    } catch (err) {
      callback(err instanceof HeartbeatHandlerError ? err.status : this.refused(1, err, raw['from']));
    }
  }

  /** Pings on one stream, each answered with a pong carrying its seq; a refusal ends the stream. */
  private heartbeatStream(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    let settled = false;
    call.on('data', (request: unknown) => {
      if (settled) return;
      const raw = isRecord(request) ? request : {};
      let pong: WirePong;
      try {
        pong = this.pong(raw);
      } catch (err) {
        settled = true;
        const status = err instanceof HeartbeatHandlerError ? err.status : this.refused(1, err, raw['from']);
        call.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      call.write(pong);
    });
    call.on('end', () => {
      if (!settled) call.end();
      settled = true;
    });
    call.on('error', () => {
      settled = true;
    });
  }

  /** The answer to one ping; throws a refusal, or HeartbeatHandlerError when our own handler fails. */
  private pong(raw: Readonly<Record<string, unknown>>): WirePong {
    const from = this.checkSender(raw['cluster'], raw['from'], raw['to']);
    const payload = raw['payload'];
    const sendTimeMs = raw['sendTimeMs'];
    if (!(payload instanceof Uint8Array)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `payload: expected bytes, found ${describeValue(payload)}`);
    }
    if (typeof sendTimeMs !== 'number' || !Number.isFinite(sendTimeMs)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `sendTimeMs: expected a finite number, found ${describeValue(sendTimeMs)}`);
    }
    let answer: Uint8Array;
    try {
      answer = this.ctx.onHeartbeat(from, new Uint8Array(payload));
    } catch (err) {
      throw new HeartbeatHandlerError({ code: grpc.status.INTERNAL, details: `onHeartbeat failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    const seq = typeof raw['seq'] === 'number' ? raw['seq'] : 0;
    return { from: this.ctx.self, echoSendTimeMs: sendTimeMs, payload: answer, seq };
  }
}

/** The node's own heartbeat handler failed: not the sender's fault, so not counted as refused. */
class HeartbeatHandlerError extends Error {
  constructor(readonly status: { code: grpc.status; details: string }) {
    super(status.details);
  }
}
