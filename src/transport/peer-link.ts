/**
 * The client half for one peer: its channel, its outbound queue and its failure streak.
 *
 * Ordering: one Step batch is in flight at a time; messages sent meanwhile wait in the queue
 * and go out together in the next batch, heartbeats and their answers ahead of the rest. The
 * queue is bounded and drops its oldest messages, of either kind, when the peer is slow or down
 * (outbound-queue.ts): Raft tolerates loss, and a leader resends what matters.
 */
import * as grpc from '@grpc/grpc-js';
import type { InstallSnapshot, Message } from '../raft/messages.js';
import type { OutgoingBatch } from './batch-codec.js';
import { estimateSize } from './codec.js';
import { AnsweredByOtherError, TransportError } from './errors.js';
import type { Counters } from './peer-service.js';
import { HeartbeatStream, type PingFailure } from './heartbeat-stream.js';
import { OutboundQueue } from './outbound-queue.js';
import type { RefusalCode } from '../identity/index.js';
import type { StatusReport, TransportIdentity } from './peer-identity.js';
import { heartbeatMethod, stepMethod } from './peer-methods.js';
import { StepStreamCall, type StepStreamCounts } from './step-stream-call.js';
import { notAddresseeOf } from './not-addressee.js';
import { failedPingError, statusName } from './ping-failure.js';
import { refusalOf } from './refusal-status.js';
import { chunkBytesFor, streamSnapshot, type SnapshotSend } from './snapshot-stream.js';
import { watchStuckConnect, type StuckConnectWatch } from './stuck-connect.js';
import { TCP_AWARE_DEADLINES } from './connect-deadline.js';
import { TcpObservedCredentials } from './tcp-observed-credentials.js';
import { trace, tracing } from '../util/trace.js';
import { raftPeerMethod, raftPeerService, isRecord, stringField, type WireDisk, type WirePing, type WireStatusReport } from './wire.js';

/** Room left in a batch for the batch's own fields. */
export const BATCH_OVERHEAD_BYTES = 1024;

export interface PeerLinkContext {
  readonly self: string;
  readonly clusterName: string;
  readonly maxMessageBytes: number;
  readonly maxQueuedMessages: number;
  readonly stepDeadlineMs: number;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
  readonly identity: TransportIdentity;
  readonly counters: Counters;
  /** Acks and batches that went through grpc-js's per-message layers (step-stream-call.ts). */
  readonly stepCounts: StepStreamCounts;
  readonly onUnreachable: (peer: string) => void;
  /** The link's connection attempt got no answer within its deadline (stuck-connect.ts): replace it. */
  readonly onStuckConnect: (link: PeerLink) => void;
  readonly onSnapshotStatus: (peer: string, ok: boolean) => void;
  /** A batch the peer carried back in a StepAck, unchecked: the service judges it. */
  readonly onReply: (peer: string, reply: Readonly<Record<string, unknown>>) => void;
  /** The peer's pong carried its disk (PeerDisk); called only for a pong this node accepted. */
  readonly onPeerDisk: (peer: string, disk: WireDisk) => void;
  readonly warn: (key: string, obj: object, msg: string) => void;
}

/**
 * Batches in flight per peer on the StepStream. Two, so that a batch sent while the peer
 * still holds the previous one's ack for its answer (reply-desk.ts) goes at once; the peer
 * then acknowledges the older one empty and answers in the newer one's ack. Unary Steps: one.
 */
const STREAM_WINDOW = 2;

interface InFlight {
  readonly size: number;
  readonly timer: NodeJS.Timeout | null;
}

export interface PingResult {
  readonly rttMs: number;
  readonly payload: Uint8Array;
}

/**
 * Heartbeats and their answers go ahead of the appends queued for the same peer (etcd keeps them
 * off its append stream): behind the megabytes of a burst of large writes they reached the
 * followers, and their answers the leader, after its lease had run out, so the leader refused
 * writes as cut off from its quorum while its followers were there. Raft takes messages in any
 * order, and a heartbeat's commit never exceeds what its follower has acknowledged (raft.ts).
 */
function jumpsTheQueue(m: Message): boolean {
  return m.type === 'Heartbeat' || m.type === 'HeartbeatResp';
}

export class PeerLink {
  private readonly client: grpc.Client;
  private readonly queue: OutboundQueue;
  /** The batches in flight, oldest first; a callback whose token is no longer here is ignored. */
  private inFlight: InFlight[] = [];
  /** One long-lived StepStream per peer: a batch is a stream message, its ack the reply. */
  private stream: StepStreamCall | null = null;
  /** The peer answered UNIMPLEMENTED to StepStream: send unary Steps instead. */
  private unaryOnly = false;
  /** Membership pings, on their own stream. */
  private readonly heartbeats: HeartbeatStream;
  /** The transfer in flight, identified like a batch. */
  private snapshot: { send: SnapshotSend | null } | null = null;
  /** False from the first failure until the next success: onUnreachable fires once per streak. */
  private reachable = true;
  private closed = false;
  /** The channel is in TRANSIENT_FAILURE: no connection, waiting out grpc-js's reconnect backoff. */
  private failing = false;
  private readonly connectWatch: StuckConnectWatch;

  /**
   * `abandonedBefore`: the links to this peer given up in a row, without connecting, before this
   * one. `unreachable`: the link this one replaces had reported the peer unreachable and not
   * reached it since, so this one's failures continue that streak and report nothing more.
   */
  constructor(
    readonly id: string,
    readonly address: string,
    private readonly ctx: PeerLinkContext,
    carriedOver: readonly Message[] = [],
    private readonly abandonedBefore = 0,
    unreachable = false,
  ) {
    this.reachable = !unreachable;
    this.queue = new OutboundQueue(ctx.maxQueuedMessages, jumpsTheQueue);
    const Service = raftPeerService();
    // Its own credentials, which tell the stuck watch when an attempt's SYN was answered.
    this.client = new Service(address, new TcpObservedCredentials(ctx.credentials, () => this.connectWatch.tcpConnected()), ctx.channelOptions);
    this.heartbeats = new HeartbeatStream(this.client, heartbeatMethod('HeartbeatStream'));
    this.watchChannel(this.client.getChannel().getConnectivityState(false));
    this.connectWatch = watchStuckConnect(this.client.getChannel(), TCP_AWARE_DEADLINES, () => ctx.onStuckConnect(this));
    for (const m of carriedOver) this.enqueue(m);
  }

  /** Links given up in a row, this one included, if it is given up now. */
  get abandonedInARow(): number {
    return this.connectWatch.connected ? 1 : this.abandonedBefore + 1;
  }

  /** The first link of a streak that never connected: nothing has reported the peer unreachable yet. */
  get unreportedStuck(): boolean {
    return !this.connectWatch.connected && this.abandonedBefore === 0 && this.reachable;
  }

  /** Not connected: the last attempt failed and the next waits out the reconnect backoff (up to 1 s). */
  get backingOff(): boolean {
    return this.failing && !this.closed;
  }

  /** Its channel has been READY at least once. */
  get everConnected(): boolean {
    return this.connectWatch.connected;
  }

  /** It reported the peer unreachable and has not reached it since (onUnreachable fires once per streak). */
  get unreachable(): boolean {
    return !this.reachable;
  }

  enqueue(m: Message): void {
    if (this.closed) {
      this.ctx.counters.dropped += 1;
      return;
    }
    this.ctx.counters.dropped += this.queue.push(m);
  }

  /** Sends the next batch unless the window of batches in flight is full. */
  flush(): void {
    if (this.closed || this.queue.length === 0 || this.inFlight.length >= (this.unaryOnly ? 1 : STREAM_WINDOW)) return;
    const batch = this.queue.take(this.ctx.maxMessageBytes - BATCH_OVERHEAD_BYTES, estimateSize);
    // `replies`: on the stream, the peer may answer in the ack (StepAck.reply); an older peer,
    // and the unary Step, ignore it.
    const request: OutgoingBatch = {
      cluster: this.ctx.clusterName,
      from: this.ctx.self,
      to: this.id,
      messages: batch,
      ...this.ctx.identity.envelope(this.id),
      replies: true,
    };
    if (this.unaryOnly) {
      this.sendUnary(request, batch.length);
      return;
    }
    const stream = this.stream ?? this.openStream();
    // The unary Step had a deadline per batch; on the stream it is a timer per batch in flight.
    const timer = setTimeout(() => this.endStream(stream, 'DEADLINE_EXCEEDED', `no ack within ${this.ctx.stepDeadlineMs}ms`), this.ctx.stepDeadlineMs);
    timer.unref();
    this.inFlight.push({ size: batch.length, timer });
    if (tracing) trace('peer.send', `${this.id} ${batch.map((m) => m.type).join(',')}`);
    stream.write(request);
  }

  /**
   * Opens the StepStream. Each ack settles the batch in flight and sends the next one; a
   * failure (peer down, batch refused, no ack in time) loses the batch in flight, as a failed
   * unary Step did, and the next flush opens a new stream. A peer without StepStream (an older
   * version, during a rolling upgrade) answers UNIMPLEMENTED: then this link uses unary Steps.
   */
  private openStream(): StepStreamCall {
    const maxSend = this.ctx.channelOptions['grpc.max_send_message_length'];
    const call: StepStreamCall = new StepStreamCall(this.client, typeof maxSend === 'number' ? maxSend : -1, this.ctx.stepCounts, {
      onAck: (ack) => {
        // Acks come in the order of the batches.
        const acked = this.stream === call ? this.inFlight.shift() : undefined;
        if (acked === undefined) return;
        if (tracing) trace('peer.ack', this.id);
        clearTimeout(acked.timer ?? undefined);
        this.ctx.counters.sent += acked.size;
        this.reachable = true;
        if (ack.reply !== null) this.ctx.onReply(this.id, ack.reply);
        this.flush();
      },
      onError: (err) => {
        if (err.code === grpc.status.UNIMPLEMENTED) this.unaryOnly = true;
        this.refusedBy(err);
        this.endStream(call, statusName(err.code), err.details);
      },
      onEnd: () => this.endStream(call, null, 'stream ended'),
    });
    this.stream = call;
    return call;
  }

  private endStream(call: StepStreamCall, code: string | null, details: string): void {
    if (this.stream !== call) return;
    this.stream = null;
    const lost = this.dropInFlight();
    if (code === 'DEADLINE_EXCEEDED') call.cancel();
    if (lost > 0 || code !== null) {
      this.ctx.counters.dropped += lost;
      this.failed(`Step failed: ${code ?? 'OK'}: ${details}`, { code: code ?? 'OK', lost });
    }
    this.flush();
  }

  /** Forgets every batch in flight (lost with their stream); returns how many messages they held. */
  private dropInFlight(): number {
    let lost = 0;
    for (const b of this.inFlight) {
      clearTimeout(b.timer ?? undefined);
      lost += b.size;
    }
    this.inFlight = [];
    return lost;
  }

  /** One unary Step per batch: for peers that do not serve StepStream. */
  private sendUnary(request: OutgoingBatch, size: number): void {
    const method = stepMethod('Step');
    const token: InFlight = { size, timer: null };
    this.inFlight.push(token);
    this.client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      { deadline: Date.now() + this.ctx.stepDeadlineMs },
      (err) => {
        if (!this.inFlight.includes(token)) return;
        this.inFlight = this.inFlight.filter((b) => b !== token);
        if (err) {
          this.ctx.counters.dropped += size;
          this.refusedBy(err);
          this.failed(`Step failed: ${statusName(err.code)}: ${err.details}`, { code: statusName(err.code), lost: size });
        } else {
          this.ctx.counters.sent += size;
          this.reachable = true;
        }
        this.flush();
      },
    );
  }

  /** One transfer at a time per peer; a second one while busy is reported failed at once. */
  sendSnapshot(m: InstallSnapshot): void {
    if (this.closed || this.snapshot !== null) {
      this.ctx.counters.dropped += 1;
      this.ctx.onSnapshotStatus(this.id, false);
      return;
    }
    const token: { send: SnapshotSend | null } = { send: null };
    this.snapshot = token;
    const send = streamSnapshot(this.client, m, this.ctx.clusterName, this.ctx.identity.envelope(this.id), chunkBytesFor(this.ctx.maxMessageBytes), (err) => {
      if (this.snapshot !== token) return;
      this.snapshot = null;
      if (err) {
        this.ctx.counters.dropped += 1;
        this.refusedBy(err);
        const obj = { peer: this.id, code: statusName(err.code) };
        this.ctx.warn(`snapshot:${this.id}`, obj, `snapshot to ${this.id} failed: ${err.details}`);
      } else {
        this.ctx.counters.sent += 1;
      }
      this.ctx.onSnapshotStatus(this.id, err === null);
    });
    if (this.snapshot === token) token.send = send;
  }

  /** A membership ping on the peer's HeartbeatStream (a unary Heartbeat for peers without it). */
  ping(payload: Uint8Array, deadlineMs: number): Promise<PingResult> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', `link to ${this.id} is closed`));
    const ping = { from: this.ctx.self, to: this.id, cluster: this.ctx.clusterName, sendTimeMs: performance.now(), payload, ...this.ctx.identity.envelope(this.id) };
    if (this.heartbeats.unsupported) return this.unaryPing(ping, deadlineMs);
    return this.heartbeats.ping(ping, deadlineMs).then(
      (pong) => this.pingResult(pong),
      (failure: PingFailure) => {
        if (failure.code === grpc.status.UNIMPLEMENTED) return this.unaryPing(ping, Math.max(1, deadlineMs - (performance.now() - ping.sendTimeMs)));
        if (failure.refusal) this.ctx.identity.onRefusedBy(this.id, failure.refusal, failure.details);
        throw this.pingError(failure);
      },
    );
  }

  private unaryPing(request: WirePing, deadlineMs: number): Promise<PingResult> {
    const method = heartbeatMethod('Heartbeat');
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        { deadline: Date.now() + deadlineMs },
        (err, response) => {
          if (err) {
            this.refusedBy(err);
            reject(this.pingError(err, err));
            return;
          }
          try {
            resolve(this.pingResult(isRecord(response) ? response : {}));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }

  /**
   * Checks a pong and measures the round trip from the send time it echoes. An answer that is no
   * pong of this peer, or whose identity this node refuses, fails as AnsweredByOtherError: what
   * answers at the peer's address is another process, so our dials do not reach the peer.
   */
  private pingResult(pong: Readonly<Record<string, unknown>>): PingResult {
    const echo = pong['echoSendTimeMs'];
    const answer = pong['payload'];
    if (typeof echo !== 'number' || !(answer instanceof Uint8Array)) {
      throw this.answeredByOther(`expected a pong with echoSendTimeMs and payload, found ${JSON.stringify(pong)}`, null);
    }
    if (pong['from'] !== this.id) throw this.answeredByOther(`expected a pong from ${this.id}, found one from ${String(pong['from'])}`, null);
    // The answer counts as contact with the member only from the data dir the cluster knows.
    const env = {
      clusterName: this.ctx.clusterName,
      clusterId: stringField(pong, 'clusterId'),
      from: this.id,
      incarnation: stringField(pong, 'incarnation'),
      toIncarnation: stringField(pong, 'toIncarnation'),
      creation: stringField(pong, 'creation'),
      boot: stringField(pong, 'boot'),
    };
    const refusal = this.ctx.identity.judgePing(env);
    if (refusal !== null) {
      this.ctx.counters.refused += 1;
      this.ctx.identity.onRefused(this.id, refusal);
      throw this.answeredByOther(`refused the pong: ${refusal.code}: ${refusal.reason}`, refusal.code);
    }
    this.ctx.identity.noteHeard(env);
    const disk = diskOf(pong['disk']);
    if (disk !== null) this.ctx.onPeerDisk(this.id, disk);
    return { rttMs: Math.max(0, performance.now() - echo), payload: new Uint8Array(answer) };
  }

  /** Forwards a status correction to this peer (the leader); resolves whether it proposed it. */
  reportStatus(report: StatusReport, deadlineMs: number): Promise<boolean> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', `link to ${this.id} is closed`));
    const method = raftPeerMethod('ReportStatus');
    const request: WireStatusReport = { cluster: this.ctx.clusterName, from: this.ctx.self, to: this.id, ...report, ...this.ctx.identity.envelope(this.id) };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + deadlineMs }, (err, response) => {
        if (err) {
          this.refusedBy(err);
          reject(new TransportError('RPC_FAILED', `ReportStatus to ${this.id} at ${this.address}: ${statusName(err.code)}: ${err.details}`, err.code, { cause: err }));
          return;
        }
        resolve(isRecord(response) && response['accepted'] === true);
      });
    });
  }

  /** A peer's refusal of this node's identity, reported once per failed call. */
  private refusedBy(err: grpc.ServiceError): void {
    const code = refusalOf(err);
    if (code !== null || err.code === grpc.status.PERMISSION_DENIED) this.ctx.identity.onRefusedBy(this.id, code, err.details);
  }

  /**
   * A ping that failed while the channel has no connection (it never opened one, or lost it and
   * cannot open another) is a dial failure: the membership layer stops counting the peer as
   * heard when its messages arrive all the same (src/membership/failure-detector.ts). So is one
   * refused with the mark of another process at the peer's address (another member refusing it
   * as misdirected, another cluster's node: not-addressee.ts); ping-failure.ts decides.
   * A ping still waiting when the link was closed (given up as stuck, its address changed) fails
   * as CLOSED: it failed on no connection, and RPC_FAILED tells the membership layer our dials
   * work, which ended the streak of a peer whose SYNs are dropped every time its link was given up.
   */
  private pingError(failure: { readonly code: number; readonly details: string; readonly metadata?: unknown }, cause?: unknown): TransportError {
    if (this.closed) {
      const msg = `${statusName(failure.code)}: ${failure.details}`;
      return new TransportError('CLOSED', `ping ${this.id} at ${this.address}: the link was closed first (${msg})`, failure.code, { cause });
    }
    const connected = this.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
    const marked = { code: failure.code, details: failure.details, notAddressee: notAddresseeOf(failure, this.id) };
    return failedPingError(this.id, this.address, marked, connected, cause);
  }

  /** A pong not from the peer this node knows (pingResult); CLOSED once the link is closed, as in pingError. */
  private answeredByOther(detail: string, refusal: RefusalCode | null): TransportError {
    if (this.closed) return new TransportError('CLOSED', `ping ${this.id} at ${this.address}: the link was closed first (${detail})`);
    return new AnsweredByOtherError(this.id, this.address, detail, refusal);
  }

  /** Stops everything; returns the messages still queued so a new link can take them over. */
  close(reportSnapshot: boolean): Message[] {
    if (this.closed) return [];
    this.closed = true;
    this.connectWatch.stop();
    this.ctx.counters.dropped += this.dropInFlight();
    const stream = this.stream;
    this.stream = null;
    stream?.cancel();
    this.heartbeats.close();
    const snapshot = this.snapshot;
    this.snapshot = null;
    if (snapshot !== null) {
      snapshot.send?.cancel();
      if (reportSnapshot) this.ctx.onSnapshotStatus(this.id, false);
    }
    this.client.close();
    return this.queue.drain();
  }

  private failed(msg: string, obj: object): void {
    if (!this.reachable) return;
    this.reachable = false;
    this.ctx.warn(`unreachable:${this.id}`, { peer: this.id, address: this.address, ...obj }, msg);
    this.ctx.onUnreachable(this.id);
  }

  /** A broken connection is reported as soon as the channel leaves READY, without waiting
   * for a send to fail: a follower uses it to pre-vote early when its leader goes away. */
  private watchChannel(last: grpc.connectivityState): void {
    const channel = this.client.getChannel();
    channel.watchConnectivityState(last, Infinity, () => {
      if (this.closed) return;
      const now = channel.getConnectivityState(false);
      if (now === grpc.connectivityState.SHUTDOWN) return;
      // Re-arm first: onUnreachable may close this link (or the whole transport).
      this.watchChannel(now);
      if (tracing) trace('peer.state', `${this.id} ${grpc.connectivityState[now]}`);
      this.failing = now === grpc.connectivityState.TRANSIENT_FAILURE;
      if (now === grpc.connectivityState.READY) {
        this.reachable = true;
      } else if (last === grpc.connectivityState.READY) {
        this.failed(`connection to ${this.id} lost`, { state: grpc.connectivityState[now] });
      }
    });
  }
}

/** A pong's PeerDisk, or null when it carries none or one no disk could have (not whole bytes). */
function diskOf(raw: unknown): WireDisk | null {
  if (!isRecord(raw)) return null;
  const { freeBytes, floorBytes } = raw;
  const bytes = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  return bytes(freeBytes) && bytes(floorBytes) ? { freeBytes, floorBytes } : null;
}
