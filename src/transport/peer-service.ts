/**
 * The server half of the transport: the RaftPeer handlers. Everything a peer sends is checked
 * before any of it reaches the node: the caller's certificate (peer-auth.ts), the envelope's
 * identity (the node's TransportIdentity, src/identity), the addressee and the message
 * contents (codec.ts). A refused batch delivers nothing; an identity refusal answers
 * PERMISSION_DENIED with its code in the `peer-refusal` trailer, so the sender can tell, and a
 * call meant for another member answers INVALID_ARGUMENT with this node's id in the
 * `peer-misdirected` trailer (not-addressee.ts): the sender dialled the wrong process.
 */
import * as grpc from '@grpc/grpc-js';
import { encodeInitialNodes, REFUSAL_METADATA_KEY, type PeerEnvelope, type Refusal } from '../identity/index.js';
import type { Message } from '../raft/messages.js';
import { decodeMessage } from './codec.js';
import { PayloadError, ProtocolError, TransportError } from './errors.js';
import { misdirectedStatus } from './not-addressee.js';
import type { AuthenticatedCall, PeerAuth } from './peer-auth.js';
import type { StatusReport, TransportIdentity } from './peer-identity.js';
import { decodeHelloAsk } from './hello-client.js';
import { trace, tracing } from '../util/trace.js';
import type { AckStream, ReplyDesk } from './reply-desk.js';
import { decodeBatch, encodeStepAck } from './batch-codec.js';
import { directStream, takeMessages } from './direct-messages.js';
import { cut, LOGGED_DETAILS_CHARS, refusedSender } from './refused-sender.js';
import { SnapshotAssembler } from './snapshot-stream.js';
import { filedCallStream } from './call-reset.js';
import { widenPeerSession } from './peer-window.js';
import { describeValue, isRecord, stringField, type Raw, type WireDisk, type WireHelloResponse, type WirePong, type WireRaftTiming } from './wire.js';
import { errorMessage } from '../util/error-message.js';

export interface Counters {
  sent: number;
  dropped: number;
  refused: number;
}

export interface PeerServiceContext {
  readonly self: string;
  readonly maxSnapshotBytes: number;
  /** The HTTP/2 window a member's connection gets once its first batch is accepted (peer-window.ts). */
  readonly flowWindowBytes: number;
  readonly identity: TransportIdentity;
  readonly auth: PeerAuth;
  readonly onMessage: (m: Message) => void;
  readonly onHeartbeat: (from: string, payload: Uint8Array) => Uint8Array;
  /** This node's disk for its pongs (PeerDisk); null: no reading yet. */
  readonly ownDisk?: () => WireDisk | null;
  /** This node's raft timing for its Hello answers; absent: not said (0). */
  readonly raftTiming?: WireRaftTiming;
  readonly counters: Counters;
  /** The acks owed on peers' StepStreams, which may carry this node's answers back. */
  readonly replies: ReplyDesk;
  readonly isClosed: () => boolean;
  /** A peer's RPC passed the caller checks (its name, certificate and envelope): it is up. */
  readonly onContact?: (from: string) => void;
  /** Rate-limited by the caller per key. */
  readonly warn: (key: string, obj: object, msg: string) => void;
  /** The same at info level: what happens on every healthy start and passes by itself. */
  readonly note: (key: string, obj: object, msg: string) => void;
}

const MAX_REASON_CHARS = 1024;

function refuse(code: grpc.status, details: string): TransportError {
  return new TransportError('REFUSED', details, code);
}

/** An identity refusal, carried to the sender with its code. */
class IdentityRefusal extends Error {
  constructor(
    readonly from: string,
    readonly refusal: Refusal,
  ) {
    super(refusal.reason);
  }
}

/** A call addressed to another member than this node, refused with the mark that says so. */
class MisdirectedRefusal extends Error {
  readonly status: { code: grpc.status; details: string; metadata: grpc.Metadata };
  constructor(self: string, to: unknown) {
    const status = misdirectedStatus(self, to);
    super(status.details);
    this.status = status;
  }
}

/** A refused peer RPC's status (exported for its test), its details held to the bound of every error sent (error-message.ts). */
export function asStatus(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const status = statusOf(err);
  return { ...status, details: errorMessage(status.details) };
}

function statusOf(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  if (err instanceof MisdirectedRefusal) return err.status;
  if (err instanceof IdentityRefusal) {
    const metadata = new grpc.Metadata();
    metadata.set(REFUSAL_METADATA_KEY, err.refusal.code);
    return { code: grpc.status.PERMISSION_DENIED, details: `${err.refusal.code}: ${err.refusal.reason}`, metadata };
  }
  if (err instanceof TransportError && err.grpcCode !== null) return { code: err.grpcCode, details: err.message };
  if (err instanceof ProtocolError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  return { code: grpc.status.INTERNAL, details: `peer transport: ${err instanceof Error ? err.message : String(err)}` };
}

function envelopeOf(raw: Raw, from: string): PeerEnvelope {
  return {
    clusterName: raw['cluster'],
    clusterId: stringField(raw, 'clusterId'),
    from,
    incarnation: stringField(raw, 'incarnation'),
    toIncarnation: stringField(raw, 'toIncarnation'),
    creation: stringField(raw, 'creation'),
    boot: stringField(raw, 'boot'),
  };
}

export class PeerService {
  /** StepStreams whose batches went through grpc-js's reader: no base call was filed for them (direct-messages.ts). */
  stepStreamsReadByGrpc = 0;

  constructor(private readonly ctx: PeerServiceContext) {}

  implementation(): grpc.UntypedServiceImplementation {
    return {
      Step: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.step(call, callback),
      StepStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => this.stepStream(call),
      InstallSnapshot: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        this.installSnapshot(call, callback),
      Heartbeat: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.heartbeat(call, callback),
      HeartbeatStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => this.heartbeatStream(call),
      Hello: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.hello(call, callback),
      ReportStatus: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.reportStatus(call, callback),
    };
  }

  /**
   * The checks every RPC shares, in order: open, a sender named, its certificate, the
   * envelope's identity, the addressee. Returns the sender.
   */
  private checkCaller(call: AuthenticatedCall, raw: Raw, to: unknown): string {
    const ctx = this.ctx;
    if (ctx.isClosed()) throw refuse(grpc.status.UNAVAILABLE, `peer transport of ${ctx.self} is closed`);
    const from = raw['from'];
    if (typeof from !== 'string' || from === '') {
      throw refuse(grpc.status.INVALID_ARGUMENT, `from: expected the sender's member id, found ${describeValue(from)}`);
    }
    const auth = ctx.auth.check(call, from);
    if (auth !== null) throw new IdentityRefusal(from, auth);
    const identity = ctx.identity.judgeEnvelope(envelopeOf(raw, from));
    if (identity !== null) throw new IdentityRefusal(from, identity);
    if (to !== ctx.self) throw new MisdirectedRefusal(ctx.self, to);
    ctx.onContact?.(from);
    return from;
  }

  private refused(count: number, err: unknown, from: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
    const status = asStatus(err);
    this.ctx.counters.refused += count;
    if (err instanceof IdentityRefusal) {
      try {
        this.ctx.identity.onRefused(err.from, err.refusal);
      } catch (e) {
        this.ctx.warn('onRefused', { err: e }, 'onRefused threw');
      }
    }
    const unproven = err instanceof IdentityRefusal && (err.refusal.code === 'NOT_A_PEER' || err.refusal.code === 'WRONG_PEER') ? err.refusal.code : null;
    const sender = refusedSender(from, unproven);
    this.ctx.warn(`refuse:${sender.key}:${status.code}`, { from: sender.shown, code: grpc.status[status.code] }, `refused peer RPC: ${cut(status.details, LOGGED_DETAILS_CHARS)}`);
    return status;
  }

  private step(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(call.request) ? call.request : {};
    const rawMessages = raw['messages'];
    const count = Array.isArray(rawMessages) ? Math.max(1, rawMessages.length) : 1;
    let messages: readonly Message[];
    try {
      messages = this.checkBatch(call, raw, rawMessages);
    } catch (err) {
      callback(this.refused(count, err, raw['from']));
      return;
    }
    for (const m of messages) this.deliver(m);
    callback(null, {});
  }

  /**
   * Step batches on one stream, each acknowledged; a refused batch ends the stream with its status.
   * Its batches are read and its acks written straight on its HTTP/2 stream where the server's
   * guard filed it (direct-messages.ts): two of each per put on every follower.
   */
  private stepStream(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    let settled = false;
    const direct = directStream(call);
    const acks: AckStream = direct === null ? call : { write: (ack) => direct.write(encodeStepAck(ack.reply)), get cancelled() { return call.cancelled; } };
    const onBatch = (request: unknown): void => {
      if (settled) return;
      const raw = isRecord(request) ? request : {};
      const rawMessages = raw['messages'];
      let messages: readonly Message[];
      try {
        messages = this.checkBatch(call, raw, rawMessages);
      } catch (err) {
        settled = true;
        const status = this.refused(Array.isArray(rawMessages) ? Math.max(1, rawMessages.length) : 1, err, raw['from']);
        // Ends the call with this status (grpc-js turns a stream 'error' into the trailers).
        call.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      widenPeerSession(filedCallStream(call.metadata)?.session, this.ctx.flowWindowBytes);
      if (tracing) trace('peer.recv', `${String(raw['from'])} ${messages.map((m) => m.type).join(',')}`);
      // Owed before delivery, so that an answer the node sends at once can ride in the ack.
      const owe = raw['replies'] === true && this.ctx.replies.holding;
      if (owe) this.ctx.replies.owe(String(raw['from']), acks);
      for (const m of messages) this.deliver(m);
      if (!owe) acks.write({ reply: null });
    };
    if (!takeMessages(call, decodeBatch, onBatch)) this.stepStreamsReadByGrpc += 1;
    call.on('data', onBatch);
    call.on('end', () => {
      if (!settled) {
        this.ctx.replies.releaseStream(acks);
        call.end();
      }
      settled = true;
    });
    call.on('error', () => {
      this.ctx.replies.forget(acks);
      settled = true;
    });
    call.on('cancelled', () => {
      this.ctx.replies.forget(acks);
      settled = true;
    });
  }

  /**
   * A batch `peer` carried back in the ack of one of ours (StepAck.reply), judged as the same
   * batch sent on its own stream would be, except for the certificate check: this node dialled
   * that peer's address itself. A refused reply delivers nothing, is counted and logged; the
   * batch it acknowledged still counts as delivered.
   */
  acceptReply(peer: string, raw: Raw): void {
    const rawMessages = raw['messages'];
    let messages: readonly Message[];
    try {
      if (this.ctx.isClosed()) return;
      if (raw['from'] !== peer) {
        throw refuse(grpc.status.INVALID_ARGUMENT, `reply: expected from=${JSON.stringify(peer)}, found ${describeValue(raw['from'])}`);
      }
      const identity = this.ctx.identity.judgeEnvelope(envelopeOf(raw, peer));
      if (identity !== null) throw new IdentityRefusal(peer, identity);
      if (raw['to'] !== this.ctx.self) {
        throw refuse(grpc.status.INVALID_ARGUMENT, `reply misdirected: expected to=${JSON.stringify(this.ctx.self)}, found ${describeValue(raw['to'])}`);
      }
      messages = this.checkMessages(peer, raw, rawMessages);
    } catch (err) {
      this.refused(Array.isArray(rawMessages) ? Math.max(1, rawMessages.length) : 1, err, peer);
      return;
    }
    if (tracing) trace('peer.reply', `${peer} ${messages.map((m) => m.type).join(',')}`);
    for (const m of messages) this.deliver(m);
  }

  /** The messages of a batch the node lets in; throws the refusal otherwise. */
  private checkBatch(call: AuthenticatedCall, raw: Raw, rawMessages: unknown): readonly Message[] {
    return this.checkMessages(this.checkCaller(call, raw, raw['to']), raw, rawMessages);
  }

  /** The messages of a batch from `from` (whose envelope is checked) the node lets in. */
  private checkMessages(from: string, raw: Raw, rawMessages: unknown): readonly Message[] {
    if (!Array.isArray(rawMessages)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `messages: expected an array, found ${describeValue(rawMessages)}`);
    }
    const messages = rawMessages.map((r: unknown, i) => {
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
    return this.admit(envelopeOf(raw, from), messages);
  }

  /** The identity verdict on decoded messages: what to deliver, or the refusal thrown. */
  private admit(env: PeerEnvelope, messages: readonly Message[]): readonly Message[] {
    const verdict = this.ctx.identity.judgeBatch(env, messages);
    if (!verdict.accept) throw new IdentityRefusal(env.from, verdict.refusal);
    this.ctx.identity.noteHeard(env);
    for (const d of verdict.dropped) {
      // No rule broken (rule null): held back while this node records the cluster id it first
      // heard, as every member of a new cluster does once; a warning there alarmed operators.
      const log = d.rule === null ? this.ctx.note : this.ctx.warn;
      log(`drop:${env.from}:${d.message.type}`, { from: env.from, type: d.message.type }, `not answering ${d.message.type} from ${env.from}: ${d.why}`);
    }
    return verdict.deliver;
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
    let env: PeerEnvelope | null = null;
    const assembler = new SnapshotAssembler(this.ctx.maxSnapshotBytes, (raw: Raw, m: Message) => {
      const from = this.checkCaller(call, { ...raw, from: m.from }, m.to);
      env = envelopeOf(raw, from);
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
      let delivered: readonly Message[];
      try {
        const m = assembler.finish();
        if (env === null) throw refuse(grpc.status.INVALID_ARGUMENT, 'snapshot stream: no envelope was accepted');
        delivered = this.admit(env, [m]);
      } catch (err) {
        fail(err);
        return;
      }
      settled = true;
      for (const m of delivered) this.deliver(m);
      callback(null, {});
    });
    // A cancelled or broken stream: the sender learns from its own call status.
    call.on('error', () => {
      settled = true;
    });
  }

  private heartbeat(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(call.request) ? call.request : {};
    try {
      callback(null, this.pong(call, raw));
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
        pong = this.pong(call, raw);
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
  private pong(call: AuthenticatedCall, raw: Raw): WirePong {
    const from = this.checkCaller(call, raw, raw['to']);
    const env = envelopeOf(raw, from);
    const refusal = this.ctx.identity.judgePing(env);
    if (refusal !== null) throw new IdentityRefusal(from, refusal);
    const payload = raw['payload'];
    const sendTimeMs = raw['sendTimeMs'];
    if (!(payload instanceof Uint8Array)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `payload: expected bytes, found ${describeValue(payload)}`);
    }
    if (typeof sendTimeMs !== 'number' || !Number.isFinite(sendTimeMs)) {
      throw refuse(grpc.status.INVALID_ARGUMENT, `sendTimeMs: expected a finite number, found ${describeValue(sendTimeMs)}`);
    }
    this.ctx.identity.noteHeard(env);
    let answer: Uint8Array;
    try {
      answer = this.ctx.onHeartbeat(from, new Uint8Array(payload));
    } catch (err) {
      if (err instanceof PayloadError) throw refuse(grpc.status.INVALID_ARGUMENT, `payload: ${err.message}`);
      throw new HeartbeatHandlerError({ code: grpc.status.INTERNAL, details: errorMessage(`onHeartbeat failed: ${err instanceof Error ? err.message : String(err)}`) });
    }
    const seq = typeof raw['seq'] === 'number' ? raw['seq'] : 0;
    const disk = this.ctx.ownDisk?.() ?? null;
    return { from: this.ctx.self, echoSendTimeMs: sendTimeMs, payload: answer, seq, ...this.ctx.identity.envelope(from), ...(disk === null ? {} : { disk }) };
  }

  /** The start-up question: authenticated and of our cluster, but asked whatever the asker's data dir. */
  private hello(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(call.request) ? call.request : {};
    let response: WireHelloResponse;
    try {
      if (this.ctx.isClosed()) throw refuse(grpc.status.UNAVAILABLE, `peer transport of ${this.ctx.self} is closed`);
      const from = raw['from'];
      if (typeof from !== 'string' || from === '') throw refuse(grpc.status.INVALID_ARGUMENT, `from: expected the asker's member id, found ${describeValue(from)}`);
      const auth = this.ctx.auth.check(call, from);
      if (auth !== null) throw new IdentityRefusal(from, auth);
      const named = this.ctx.identity.judgeEnvelope({ clusterName: raw['cluster'], clusterId: '', from, incarnation: '', toIncarnation: '', creation: '', boot: '' });
      if (named !== null && named.code === 'CLUSTER_NAME') throw new IdentityRefusal(from, named);
      if (raw['to'] !== this.ctx.self) throw new MisdirectedRefusal(this.ctx.self, raw['to']);
      // A member starting asks before it serves: our link to it may be waiting out a backoff.
      this.ctx.onContact?.(from);
      const ask = decodeHelloAsk(raw);
      if (typeof ask === 'string') throw refuse(grpc.status.INVALID_ARGUMENT, ask);
      const r = this.ctx.identity.hello(from, ask);
      response = {
        memberId: r.memberId,
        incarnation: r.incarnation,
        clusterId: r.clusterId ?? '',
        lastIndex: r.lastIndex,
        appliedIndex: r.appliedIndex,
        youMember: r.you.member,
        youRole: r.you.role ?? '',
        youRecorded: r.you.recorded,
        youHeard: r.you.heard,
        youRemoved: r.you.removed,
        nodes: r.creationNodes === null ? '' : encodeInitialNodes(r.creationNodes),
        youAddress: r.you.address ?? '',
        electionTimeoutMs: this.ctx.raftTiming?.electionTimeoutMs ?? 0,
        heartbeatIntervalMs: this.ctx.raftTiming?.heartbeatIntervalMs ?? 0,
      };
    } catch (err) {
      callback(this.refused(1, err, raw['from']));
      return;
    }
    callback(null, response);
  }

  private reportStatus(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    const raw = isRecord(call.request) ? call.request : {};
    let from: string;
    let report: StatusReport;
    try {
      from = this.checkCaller(call, raw, raw['to']);
      const refusal = this.ctx.identity.judgePing(envelopeOf(raw, from));
      if (refusal !== null) throw new IdentityRefusal(from, refusal);
      const status = raw['status'];
      const member = raw['member'];
      const reason = stringField(raw, 'reason');
      if (status !== 'online' && status !== 'offline') throw refuse(grpc.status.INVALID_ARGUMENT, `status: expected online or offline, found ${describeValue(status)}`);
      if (typeof member !== 'string' || member === '') throw refuse(grpc.status.INVALID_ARGUMENT, `member: expected a member id, found ${describeValue(member)}`);
      if (reason.length > MAX_REASON_CHARS) throw refuse(grpc.status.INVALID_ARGUMENT, `reason: expected at most ${MAX_REASON_CHARS} characters, found ${reason.length}`);
      report = { member, status, reason };
    } catch (err) {
      callback(this.refused(1, err, raw['from']));
      return;
    }
    this.ctx.identity.reportStatus(from, report).then(
      (accepted) => callback(null, { accepted }),
      (err: unknown) => callback({ code: grpc.status.INTERNAL, details: errorMessage(`reportStatus failed: ${err instanceof Error ? err.message : String(err)}`) }),
    );
  }
}

/** The node's own heartbeat handler failed: not the sender's fault, so not counted as refused. */
class HeartbeatHandlerError extends Error {
  constructor(readonly status: { code: grpc.status; details: string }) {
    super(status.details);
  }
}
