/**
 * Carries Raft messages between controller processes over gRPC (proto/peer.proto).
 *
 * The node calls `send` with whatever its Ready holds and never waits: each peer has its own
 * link (peer-link.ts) with a bounded queue; failures surface as `onUnreachable` and
 * `onSnapshotStatus`, which is all Raft needs to adapt. Inbound RPCs are validated by
 * peer-service.ts before anything reaches `onMessage`.
 */
import type * as grpc from '@grpc/grpc-js';
import { MAX_SEND_MESSAGE_BYTES } from './message-limits.js';
import type { SendUrgency } from '../node/raft-ports.js';
import type { Message } from '../raft/messages.js';
import { TransportError } from './errors.js';
import { plaintextPeerAuth, type PeerAuth } from './peer-auth.js';
import { basicIdentity, type StatusReport, type TransportIdentity } from './peer-identity.js';
import { BATCH_OVERHEAD_BYTES, PeerLink, type PeerLinkContext, type PingResult } from './peer-link.js';
import type { StepStreamCounts } from './step-stream-call.js';
import { PeerService, type Counters } from './peer-service.js';
import { ReplyDesk } from './reply-desk.js';
import { peerFlowWindowBytes } from './peer-window.js';
import { peerServiceDefinition } from './peer-methods.js';
import { trace, tracing } from '../util/trace.js';
import type { WireDisk, WireRaftTiming } from './wire.js';

export interface PeerTransportOptions {
  readonly self: string;
  readonly clusterName: string;
  /** gRPC max send/receive message size, for this transport's channels. The server's limit
   * is the caller's: build it with `peerServerOptions(maxMessageBytes)`. */
  readonly maxMessageBytes: number;
  /** Insecure or mTLS, from credentials.ts. */
  readonly credentials: { readonly server: grpc.ServerCredentials; readonly client: grpc.ChannelCredentials };
  /** Without `identity`: messages from ids it rejects are refused with PERMISSION_DENIED and counted. */
  readonly isKnownPeer: (id: string) => boolean;
  /** The node's identity checks (src/identity); without it, only the name and isKnownPeer are checked. */
  readonly identity?: TransportIdentity;
  /** Who may call peer RPCs (peer-auth.ts); default: anyone (plaintext). */
  readonly auth?: PeerAuth;
  readonly onMessage: (m: Message) => void;
  readonly onUnreachable: (peer: string) => void;
  readonly onSnapshotStatus: (peer: string, ok: boolean) => void;
  /** Answers a membership ping with this node's payload; throws PayloadError for one it cannot read. */
  readonly onHeartbeat: (from: string, payload: Uint8Array) => Uint8Array;
  /** This node's data dir disk, carried on its pongs (the leader's disk floor); null: no reading yet. */
  readonly ownDisk?: () => WireDisk | null;
  /** This node's raft timing, said in its Hello answers so a peer starting with other values warns. */
  readonly raftTiming?: WireRaftTiming;
  /** A peer's pong carried its disk (a member that says it; older ones do not). */
  readonly onPeerDisk?: (peer: string, disk: WireDisk) => void;
  readonly logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  /** Largest snapshot accepted from a peer (default 512 MiB). */
  readonly maxSnapshotBytes?: number;
  /** Per-peer outbound queue bound (default 4096 messages). */
  readonly maxQueuedMessages?: number;
  /** Deadline of one Step batch (default 5 s). */
  readonly stepDeadlineMs?: number;
  /**
   * How long the ack of a peer's batch may wait for this node's answers to ride in it
   * (reply-desk.ts; default 0: acks go at once, empty). The node must call `releaseReplies`
   * whenever it has nothing more to send, or every ack waits this long.
   */
  readonly replyHoldMs?: number;
}

export const DEFAULT_MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_MESSAGES = 4096;
export const DEFAULT_STEP_DEADLINE_MS = 5000;
/** Same warning (same key) at most this often, so a down peer does not flood the log. */
const WARN_INTERVAL_MS = 5000;
const MAX_WARN_KEYS = 1000;

/** A dead peer is noticed within ~2 s by keepalive, and a restarted one is redialled within
 * ~1 s: failover time depends on both. */
const KEEPALIVE = {
  'grpc.keepalive_time_ms': 1000,
  'grpc.keepalive_timeout_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
} as const;

/** channelz bookkeeping costs CPU on every call, and nothing here reads it. Client channels
 * only: a grpc-js 1.14 server without channelz does not track its sessions, so forceShutdown
 * leaves their connections open and peers never notice the node went away. */
const NO_CHANNELZ = { 'grpc.enable_channelz': 0 } as const;

/** The longest a channel waits between two connection attempts to a peer. */
const MAX_RECONNECT_BACKOFF_MS = 1000;

export function peerChannelOptions(maxMessageBytes: number): grpc.ChannelOptions {
  return {
    ...KEEPALIVE,
    ...NO_CHANNELZ,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
    // Each transport owns its connections, so several nodes can share one process (tests,
    // simulations) and closing one never affects another.
    'grpc.use_local_subchannel_pool': 1,
    'grpc-node.flow_control_window': peerFlowWindowBytes(maxMessageBytes),
  };
}

/**
 * The server's own keepalive is only a backstop that closes connections whose client vanished
 * without a word: peers ping their channels every second themselves (KEEPALIVE), and agents'
 * streams carry the hub's pings. Pinging every client every second as well doubled the idle
 * ping traffic between members, and would cost a controller one ping a second per agent.
 */
const SERVER_KEEPALIVE = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
} as const;

/** Options for the server that hosts the RaftPeer service: message limits, and permission
 * for the peers' frequent keepalive pings. */
export function peerServerOptions(maxMessageBytes: number): grpc.ServerOptions {
  return {
    ...SERVER_KEEPALIVE,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': Math.max(maxMessageBytes, MAX_SEND_MESSAGE_BYTES),
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.http2.min_ping_interval_without_data_ms': 500,
  };
}

export interface TransportStats {
  /** Messages a peer acknowledged. */
  readonly sent: number;
  /** Outbound messages lost: queue overflow, failed batches, unknown or removed peers. */
  readonly dropped: number;
  /** Inbound messages this node refused. */
  readonly refused: number;
}

export class PeerTransport {
  private readonly links = new Map<string, PeerLink>();
  private readonly counters: Counters = { sent: 0, dropped: 0, refused: 0 };
  private readonly stepCounts: StepStreamCounts = { acksReadByGrpc: 0, batchesWrittenByGrpc: 0 };
  private readonly lastWarn = new Map<string, number>();
  private readonly service: PeerService;
  private readonly replies: ReplyDesk;
  private readonly identity: TransportIdentity;
  private closed = false;
  /** Messages sent `after-answers`, not yet handed to their links (see send). */
  private later: Message[] = [];
  private laterArmed = false;
  /** When each peer's link was last replaced because the peer reached us (redialOnContact). */
  private readonly redialedAt = new Map<string, number>();
  /** Links replaced because their peer reached us while they backed off (redialOnContact). */
  private redials = 0;
  /** The links redialOnContact opened. */
  private readonly redialLinks = new WeakSet<PeerLink>();

  constructor(private readonly opts: PeerTransportOptions) {
    this.identity = opts.identity ?? basicIdentity(opts.self, opts.clusterName, opts.isKnownPeer);
    this.replies = new ReplyDesk({
      holdMs: opts.replyHoldMs ?? 0,
      budgetBytes: opts.maxMessageBytes - BATCH_OVERHEAD_BYTES,
      envelope: (peer, messages) => ({ cluster: opts.clusterName, from: opts.self, to: peer, messages, ...this.identity.envelope(peer) }),
      onCarried: (n) => {
        this.counters.sent += n;
      },
    });
    this.service = new PeerService({
      self: opts.self,
      maxSnapshotBytes: opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES,
      flowWindowBytes: peerFlowWindowBytes(opts.maxMessageBytes),
      identity: this.identity,
      auth: opts.auth ?? plaintextPeerAuth,
      onMessage: opts.onMessage,
      onHeartbeat: opts.onHeartbeat,
      ...(opts.ownDisk === undefined ? {} : { ownDisk: opts.ownDisk }),
      ...(opts.raftTiming === undefined ? {} : { raftTiming: opts.raftTiming }),
      counters: this.counters,
      replies: this.replies,
      isClosed: () => this.closed,
      onContact: (from) => this.redialOnContact(from),
      warn: (key, obj, msg) => this.warn(key, obj, msg),
      note: (key, obj, msg) => this.warn(key, obj, msg, 'info'),
    });
  }

  /** Adds the RaftPeer service to a server the caller owns (it also hosts the client API). */
  register(server: grpc.Server): void {
    server.addService(peerServiceDefinition(), this.service.implementation());
  }

  setPeer(id: string, address: string): void {
    if (this.closed || id === this.opts.self) return;
    const existing = this.links.get(id);
    if (existing?.address === address) return;
    const carried = existing?.close(true) ?? [];
    this.links.set(id, new PeerLink(id, address, this.linkContext(), carried));
    this.links.get(id)?.flush();
  }

  /** A link whose connection attempt got no answer (stuck-connect.ts): a new link, with its queue. */
  private replaceStuck(link: PeerLink): void {
    if (this.closed || this.links.get(link.id) !== link) return;
    const abandoned = link.abandonedInARow;
    if (tracing) trace('peer.stuck', `${link.id} ${abandoned}`);
    this.warn(`stuck:${link.id}`, { peer: link.id, address: link.address, abandoned }, `connecting to ${link.id} at ${link.address} got no answer in time; trying a new connection`);
    // A link that lost its connection reported it then; one that never had one reports it now
    // (its batches' deadline, which did before, no longer comes).
    const report = link.unreportedStuck;
    const next = new PeerLink(link.id, link.address, this.linkContext(), link.close(true), abandoned);
    this.links.set(link.id, next);
    if (report) this.guard('onUnreachable', () => this.opts.onUnreachable(link.id));
    next.flush();
  }

  /**
   * `peer` reached us while our link to it waits out its reconnect backoff: it is up again (it
   * restarted, or a member just added has started and asks its peers before it serves), so a new
   * link dials it now instead of up to a second later, when every peer would count it silent. At
   * most once per max backoff per peer. A new channel starts grpc-js's backoff over (attempts
   * 0.1, 0.26, 0.5, 0.9 s after a failure): right for a peer about to listen, but a peer that
   * reaches us while our dials to it keep failing (a one-way cut) would get five attempts a
   * second. So a link replacing a redial's link that never connected waits the longest backoff
   * between its attempts. The new link continues the old one's unreachable streak: a follower
   * told its leader is unreachable drops it and pre-votes, once per streak, not once a second.
   */
  private redialOnContact(peer: string): void {
    const link = this.links.get(peer);
    if (this.closed || link === undefined || !link.backingOff) return;
    const now = performance.now();
    const last = this.redialedAt.get(peer);
    if (last !== undefined && now - last < MAX_RECONNECT_BACKOFF_MS) return;
    this.redialedAt.set(peer, now);
    this.redials += 1;
    const fruitless = this.redialLinks.has(link) && !link.everConnected;
    if (tracing) trace('peer.redial', `${peer}${fruitless ? ' again' : ''}`);
    const ctx = fruitless ? this.linkContext(MAX_RECONNECT_BACKOFF_MS) : this.linkContext();
    const next = new PeerLink(peer, link.address, ctx, link.close(true), 0, link.unreachable);
    this.redialLinks.add(next);
    this.links.set(peer, next);
    next.flush();
  }

  removePeer(id: string): void {
    this.redialedAt.delete(id);
    const link = this.links.get(id);
    if (link === undefined) return;
    this.links.delete(id);
    this.counters.dropped += link.close(true).length;
  }

  /**
   * Never blocks and never throws for a down peer. Messages to a peer whose batch awaits its
   * ack ride in that ack (reply-desk.ts); the rest go on the peer's link.
   *
   * `after-answers` (a leader's commit notices): HTTP/2 writes a turn's streams to their
   * sockets in the order they were written, so these wait for the next check phase
   * (setImmediate), after the client answers this turn produces. A later `now` send takes them
   * first, so every peer still gets its messages in the order they were sent.
   */
  send(messages: readonly Message[], urgency: SendUrgency = 'now'): void {
    if (urgency === 'after-answers' && !this.closed) {
      for (const m of messages) this.later.push(m);
      if (!this.laterArmed) {
        this.laterArmed = true;
        setImmediate(() => {
          this.laterArmed = false;
          this.sendNow(this.takeLater());
        });
      }
      return;
    }
    this.sendNow(this.later.length > 0 ? [...this.takeLater(), ...messages] : messages);
  }

  private takeLater(): Message[] {
    const out = this.later;
    this.later = [];
    return out;
  }

  private sendNow(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const touched = new Set<PeerLink>();
    for (const m of this.closed ? messages : this.carry(messages)) {
      const link = this.closed ? undefined : this.links.get(m.to);
      if (link === undefined) {
        this.counters.dropped += 1;
        if (!this.closed) this.warn(`no-peer:${m.to}`, { peer: m.to, type: m.type }, `no address known for peer ${m.to}; message dropped`);
        continue;
      }
      if (m.type === 'InstallSnapshot') {
        link.sendSnapshot(m);
      } else {
        link.enqueue(m);
        touched.add(link);
      }
    }
    for (const link of touched) link.flush();
  }

  /** The messages of `messages` no owed ack carries back. */
  private carry(messages: readonly Message[]): readonly Message[] {
    if (!this.replies.holding || messages.length === 0) return messages;
    const byPeer = new Map<string, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, [m]);
      else list.push(m);
    }
    const rest: Message[] = [];
    for (const [peer, list] of byPeer) rest.push(...this.replies.carry(peer, list));
    return rest;
  }

  /** The node has nothing more to send for now: the acks still held go back empty. */
  releaseReplies(): void {
    this.replies.releaseAll();
  }

  ping(peer: string, payload: Uint8Array, deadlineMs: number): Promise<PingResult> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', `peer transport of ${this.opts.self} is closed`));
    const link = this.links.get(peer);
    if (link === undefined) return Promise.reject(new TransportError('UNKNOWN_PEER', `expected an address for peer ${peer}, found none`));
    return link.ping(payload, deadlineMs);
  }

  /** Forwards a status correction to `peer` (the leader); resolves whether it proposed it. */
  reportStatus(peer: string, report: StatusReport, deadlineMs: number): Promise<boolean> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', `peer transport of ${this.opts.self} is closed`));
    const link = this.links.get(peer);
    if (link === undefined) return Promise.reject(new TransportError('UNKNOWN_PEER', `expected an address for peer ${peer}, found none`));
    return link.reportStatus(report, deadlineMs);
  }

  /** Closes every outbound channel; the service on the caller's server answers UNAVAILABLE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.replies.close();
    for (const link of this.links.values()) this.counters.dropped += link.close(false).length;
    this.links.clear();
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  /** Links given a new connection at once because their peer reached us while they backed off. */
  get redialsOnContact(): number {
    return this.redials;
  }

  /** StepStreams served through grpc-js's reader, not straight from their HTTP/2 stream: 0 behind the server's guard (more costs CPU, not correctness). */
  get stepStreamsReadByGrpc(): number {
    return this.service.stepStreamsReadByGrpc;
  }

  /**
   * The links' StepStream acks read, and batches written, through grpc-js's per-message layers
   * rather than at the call's bottom (step-stream-call.ts): the first batch or two of each stream,
   * until the peer's headers came and it acked them, and whatever grpc-js must refuse (more costs CPU, not
   * correctness).
   */
  get stepStreamClientByGrpc(): Readonly<StepStreamCounts> {
    return { ...this.stepCounts };
  }

  /** `initialBackoffMs`: the channel's first wait after a failed attempt, if not peerChannelOptions'. */
  private linkContext(initialBackoffMs?: number): PeerLinkContext {
    const o = this.opts;
    const channelOptions = peerChannelOptions(o.maxMessageBytes);
    return {
      self: o.self,
      clusterName: o.clusterName,
      maxMessageBytes: o.maxMessageBytes,
      maxQueuedMessages: o.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      stepDeadlineMs: o.stepDeadlineMs ?? DEFAULT_STEP_DEADLINE_MS,
      credentials: o.credentials.client,
      channelOptions: initialBackoffMs === undefined ? channelOptions : { ...channelOptions, 'grpc.initial_reconnect_backoff_ms': initialBackoffMs },
      identity: this.identity,
      counters: this.counters,
      stepCounts: this.stepCounts,
      onUnreachable: (peer) => this.guard('onUnreachable', () => o.onUnreachable(peer)),
      onStuckConnect: (link) => this.replaceStuck(link),
      onSnapshotStatus: (peer, ok) => this.guard('onSnapshotStatus', () => o.onSnapshotStatus(peer, ok)),
      onReply: (peer, reply) => this.service.acceptReply(peer, reply),
      onPeerDisk: (peer, disk) => this.guard('onPeerDisk', () => o.onPeerDisk?.(peer, disk)),
      warn: (key, obj, msg) => this.warn(key, obj, msg),
    };
  }

  /** The node's callbacks run inside gRPC's; a throw there must not break the channel. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warn(what, { err }, `${what} threw`);
    }
  }

  private warn(key: string, obj: object, msg: string, level: 'warn' | 'info' = 'warn'): void {
    const logger = this.opts.logger;
    if (logger === undefined) return;
    const now = Date.now();
    const last = this.lastWarn.get(key);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) return;
    // Keys may carry sender-chosen ids: keep the map bounded.
    if (this.lastWarn.size >= MAX_WARN_KEYS) this.lastWarn.clear();
    this.lastWarn.set(key, now);
    if (level === 'info') logger.info?.(obj, msg);
    else logger.warn(obj, msg);
  }
}
