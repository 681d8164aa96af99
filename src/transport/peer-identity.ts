/**
 * What the transport asks of the node about identity: what to stamp on its envelopes, and
 * whether to let a peer's message in. The node answers with src/identity's deterministic checks
 * over its applied state; the transport only carries the fields and the refusals.
 */
import { judgeEnvelope, type BatchVerdict, type HelloAsk, type HelloReply, type PeerEnvelope, type Refusal, type RefusalCode } from '../identity/index.js';
import type { Message } from '../raft/messages.js';
import type { WireIdentity } from './wire.js';

export interface StatusReport {
  readonly member: string;
  readonly status: 'online' | 'offline';
  readonly reason: string;
}

export interface TransportIdentity {
  /** Stamped on every envelope this node sends to `to`. */
  envelope(to: string): WireIdentity;
  /** The checks every peer RPC shares (cluster, known and non-removed sender), before decoding. */
  judgeEnvelope(env: PeerEnvelope): Refusal | null;
  judgeBatch(env: PeerEnvelope, messages: readonly Message[]): BatchVerdict;
  /** Pings, pongs, snapshots' senders and status reports: everything but a Raft batch. */
  judgePing(env: PeerEnvelope): Refusal | null;
  /** An envelope this node accepted: who runs which data dir, as last heard. */
  noteHeard(env: PeerEnvelope): void;
  /** This node refused a peer. */
  onRefused(peer: string, refusal: Refusal): void;
  /** A peer refused this node; `code` is null when the peer did not say why. */
  onRefusedBy(peer: string, code: RefusalCode | null, details: string): void;
  /** The answer to the start-up question of `from`, which says what its data dir holds. */
  hello(from: string, ask: HelloAsk): HelloReply;
  /** On the leader: judge and propose a follower's status correction; true when proposed. */
  reportStatus(from: string, report: StatusReport): Promise<boolean>;
}

/**
 * For a transport without a node behind it (tests, tools): no identity on the wire, and only
 * the cluster name and known senders checked, as before identities existed.
 */
export function basicIdentity(self: string, clusterName: string, isKnownPeer: (id: string) => boolean): TransportIdentity {
  const none = {
    get: () => ({ incarnation: '', role: 'voter' as const, address: '' }),
    wasRemoved: () => false,
    clusterId: null,
  };
  const view = {
    self,
    clusterName,
    identity: { memberId: self, incarnation: '0000000000000000', clusterId: null, origin: 'legacy' as const, recorded: false, creationSeen: true, creation: null },
    term: 0,
    lastIndex: 0,
    members: { ...none, get: (id: string) => (isKnownPeer(id) ? none.get() : null) },
    configured: () => false,
  };
  return {
    envelope: () => ({ clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' }),
    judgeEnvelope: (env) => judgeEnvelope(view, env),
    judgeBatch: (env, messages) => {
      const refusal = judgeEnvelope(view, env);
      return refusal === null ? { accept: true, deliver: messages, dropped: [], adopt: null, creationSeen: false } : { accept: false, refusal };
    },
    judgePing: (env) => judgeEnvelope(view, env),
    noteHeard: () => undefined,
    onRefused: () => undefined,
    onRefusedBy: () => undefined,
    hello: () => {
      throw new Error(`${self} has no identity to answer the start-up question with`);
    },
    reportStatus: async () => false,
  };
}
