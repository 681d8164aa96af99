/**
 * Which peer messages a node lets through to its Raft core: the identity half of the trust
 * boundary (the codec checked the fields, peer-auth.ts the certificate). Deterministic: the
 * production transport and the simulation call the same functions with the same views.
 *
 * The rules, and why each is enough (docs/architecture.md, "Identity: a lost state is never
 * mistaken for a new one"):
 *  1. Another cluster name or cluster id, an unknown sender, an identity field that is not an
 *     id (a boot id of any length, envelope-format.ts), a removed incarnation: refused. So is
 *     a sender that bootstrapped from another cluster.nodes than this node (both digests known):
 *     hosts started together from different files both bootstrap before either answers the
 *     other's start-up question, and their first entries, equal to Raft, name different voters.
 *  2. A response that would count (a vote, an append or heartbeat acknowledgement) from another
 *     incarnation than the one the cluster recorded for its sender: refused. A lost or replaced
 *     data dir must not be counted as if it still held what its predecessor acknowledged.
 *     Requests and leader messages from it pass: harmless, and a member re-added since this
 *     node last caught up looks exactly like that. The other way round, a leader's message
 *     stamped for another incarnation of this member is refused: it was meant for the data dir
 *     this one replaced (sent before the rebuild, or by a leader that has not applied the
 *     re-addition yet), and what it says (the commit index a heartbeat counts as held here)
 *     is not true of this one.
 *  3. A leader's message from a node without a cluster id, to a node that has one: refused. A
 *     node that bootstrapped alone must never overwrite an established log, whose first entry
 *     looks like its own.
 *  4. A term leading ours by more than 2^32: refused (src/limits/raft-numbers.ts).
 *  5. Vote requests reach the core only when this node may vote: never when another incarnation
 *     is recorded for it; once its applied state has a cluster id, only when it records this
 *     incarnation (or a peer that applied it said so); before (a new cluster's first moments, or
 *     a restart whose commit index lags), unless it started empty to join.
 *  6. And before that, a data dir that bootstrapped while no peer answered, and has seen no sign
 *     of the cluster's creation since, votes only for candidates as new as itself (nothing
 *     beyond the first entry), and not at all once it knows the cluster has an id (creation is
 *     over): it may be a lost member's replacement, whose predecessor acknowledged entries a
 *     lagging candidate lacks. Without this rule, `npm run sim -- --seeds 2000
 *     --identity` finds the case (seed 1277: a leader lacking a committed entry). A leader's
 *     word is a sign only once this node applied a commit index that leader vouched for
 *     (creationByCommit): a new leader without the id may hold the entry that drew it, not yet
 *     known committed (seed 20705 with heartbeats sent while the leader writes). These rules
 *     bind the node's vote for itself too (NodeIdentity.mayCampaign): a replacement that got a
 *     leader's log up to its lagging commit index was elected by a laggard's vote and its own.
 *  7. A node that knows the cluster id (applied, or adopted from a peer's envelope) votes for no
 *     candidate with nothing beyond the first entry: the id comes from an entry after the first,
 *     committed before any node holds the id, so such a candidate lacks a committed entry. This
 *     covers the voter rule 6 cannot: an old member whose own log never got past the creation
 *     (it lagged), asked by a lost member's replacement that bootstrapped while isolated. With
 *     timer phases of their own, `npm run sim -- --seed 60422 --identity` found that case.
 */
import type { Message } from '../raft/messages.js';
import { termLeadProblem } from '../limits/raft-numbers.js';
import { envelopeFormatRefusal } from './envelope-format.js';
import type { Refusal, RefusalCode } from './refusal.js';
import { IDENTITY_ID, type LocalIdentity, type PeerEnvelope, type RecordedMembers } from './types.js';

/** What the receiving node knows when it judges a message. */
export interface AcceptanceView {
  readonly self: string;
  readonly clusterName: string;
  readonly identity: LocalIdentity;
  /** The node's current term and last log index. */
  readonly term: number;
  readonly lastIndex: number;
  /** The applied membership records. */
  readonly members: RecordedMembers;
  /** In the cluster file: a member this node may not know from its log yet (it may be behind). */
  readonly configured: (id: string) => boolean;
}

export interface Dropped {
  readonly message: Message;
  readonly why: string;
  /**
   * The rule that kept a vote request from the core (5, 6 or 7 above); null for a drop of
   * another kind. So a count can say which rule decided (the simulation asserts that its
   * schedules still reach rule 7: test/sim/lost-disk.test.ts).
   */
  readonly rule: VoteRule | null;
}

export type VoteRule = 5 | 6 | 7;

/** Why a node may not answer a vote request, and by which rule. */
export interface VoteRefusal {
  readonly rule: VoteRule;
  readonly why: string;
}

export type BatchVerdict =
  | {
      readonly accept: true;
      readonly deliver: readonly Message[];
      /** Vote requests this node may not answer; Raft treats them as lost. */
      readonly dropped: readonly Dropped[];
      /** The sender's cluster id, which this node (without one) now belongs to: persist it first. */
      readonly adopt: string | null;
      /** The batch shows a peer in the cluster's first state: see LocalIdentity.creationSeen. */
      readonly creationSeen: boolean;
    }
  | { readonly accept: false; readonly refusal: Refusal };

/** The cluster id this node holds: its own record, else what it has applied. */
export function localClusterId(view: Pick<AcceptanceView, 'identity' | 'members'>): string | null {
  return view.identity.clusterId ?? view.members.clusterId;
}

const COUNTED: ReadonlySet<Message['type']> = new Set(['PreVoteResp', 'VoteResp', 'AppendResp', 'HeartbeatResp']);
const FROM_LEADER: ReadonlySet<Message['type']> = new Set(['Append', 'Heartbeat', 'InstallSnapshot', 'TimeoutNow', 'ReadIndexResp']);

const show = (v: string): string => (v === '' ? 'none' : v);

function clusterIdRefusal(self: string, ours: string, from: string, theirs: string): Refusal {
  return {
    code: 'CLUSTER_ID',
    reason: `cluster id mismatch: ${self} belongs to cluster ${ours}, ${from} to cluster ${theirs} (same name, another cluster)`,
  };
}

/** Rule 1, shared by every peer RPC (batches, snapshots, pings). */
export function judgeEnvelope(view: AcceptanceView, env: PeerEnvelope): Refusal | null {
  if (env.clusterName !== view.clusterName) {
    // Shown cut short: the sender's values are unbounded, and the reason is sent back and logged.
    const found = typeof env.clusterName === 'string' ? JSON.stringify(env.clusterName.slice(0, 64)) : String(env.clusterName).slice(0, 64);
    return { code: 'CLUSTER_NAME', reason: `cluster name mismatch: expected ${JSON.stringify(view.clusterName)}, found ${found}` };
  }
  const ours = localClusterId(view);
  if (view.members.get(env.from) === null && !view.configured(env.from)) {
    // A sender we do not know, of another cluster of the same name (whose members have other
    // ids): CLUSTER_ID, not UNKNOWN_MEMBER, which a dialer reads as an unanswered ping on a
    // working link; CLUSTER_ID tells it another cluster answers at that address
    // (ping-failure.ts). A well-formed id only; its member id is unbounded, so shown cut short.
    // A known sender keeps the order below: a recovery's left-out member (removed incarnation,
    // the old cluster id) must hear REMOVED_MEMBER, which stops it for good (removal-watch.ts).
    if (ours !== null && IDENTITY_ID.test(env.clusterId) && env.clusterId !== ours) return clusterIdRefusal(view.self, ours, JSON.stringify(env.from.slice(0, 64)), env.clusterId);
    return {
      code: 'UNKNOWN_MEMBER',
      reason: `unknown sender: expected a member of cluster ${JSON.stringify(view.clusterName)}, found ${JSON.stringify(env.from.slice(0, 64))}`,
    };
  }
  const malformed = envelopeFormatRefusal(env);
  if (malformed !== null) return malformed;
  if (env.incarnation !== '' && view.members.wasRemoved(env.incarnation)) {
    return {
      code: 'REMOVED_MEMBER',
      reason: `${env.from} runs incarnation ${env.incarnation}, which was removed from the cluster; a removed member comes back only re-added with an empty data dir`,
    };
  }
  if (ours !== null && env.clusterId !== '' && env.clusterId !== ours) return clusterIdRefusal(view.self, ours, env.from, env.clusterId);
  const creation = view.identity.creation;
  if (creation !== null && env.creation !== '' && env.creation !== creation) {
    return { code: 'CREATION_NODES', reason: creationNodesReason(view.self, env, creation, ours) };
  }
  return null;
}

/**
 * Why two members' creations differ, and which one to fix. While both are in their creation,
 * the files they started from differ. Once one side runs an established cluster (it holds a
 * cluster id, drawn by its first leader) and the other holds none, the other bootstrapped on its
 * own (started without --join while no peer answered: a member added to the file, or one whose
 * data dir was lost) and never had a leader, so it holds no write. The files may well agree by
 * then, since the digest is fixed when a data dir bootstraps: "compare the files" named no
 * difference, and "stop each member started from the wrong one" could read as the cluster's own
 * members, whose data dirs hold every write (attack-operator round 15).
 */
function creationNodesReason(self: string, env: PeerEnvelope, creation: string, ours: string | null): string {
  const differ = `${env.from} bootstrapped from another cluster.nodes than ${self} (nodes digest ${env.creation} there, ${creation} here)`;
  const lone = ours !== null && env.clusterId === '' ? { node: env.from, cluster: ours } : ours === null && IDENTITY_ID.test(env.clusterId) ? { node: self, cluster: env.clusterId } : null;
  if (lone !== null) {
    return (
      `${differ}, and ${lone.node} holds no cluster id while the other runs cluster ${lone.cluster}: ${lone.node} bootstrapped a cluster of its own ` +
      '(started without --join while no peer answered) and never had a leader, so it holds no write. Keep the running cluster as it is; ' +
      `stop ${lone.node} and move its data dir aside; then, if it is a new member, ctl member add ${lone.node} ADDRESS, or if it was a member ` +
      `whose data dir was lost, ctl member remove ${lone.node} first; and start it with --join (docs/operate.md, CREATION_NODES)`
    );
  }
  return (
    `${differ}: every initial member must start from the same cluster.nodes, or they count votes over different voter sets. ` +
    'Compare the files; stop each member started from the wrong one, move its data dir aside and start it again with the right file ' +
    '(docs/operate.md, CREATION_NODES)'
  );
}

/** A refusal naming the first leader's message of a batch (Append, Heartbeat, ...); null when it has none. */
function refuseLeaderMessage(messages: readonly Message[], code: RefusalCode, reason: (type: Message['type']) => string): BatchVerdict | null {
  const led = messages.find((m) => FROM_LEADER.has(m.type));
  return led === undefined ? null : { accept: false, refusal: { code, reason: reason(led.type) } };
}

/** Rule 2's test: the sender runs another data dir than the one recorded for it. */
function superseded(view: AcceptanceView, env: PeerEnvelope): Refusal | null {
  const recorded = view.members.get(env.from)?.incarnation ?? '';
  if (recorded === '' || env.incarnation === recorded) return null;
  return {
    code: 'SUPERSEDED_INCARNATION',
    reason:
      `${env.from} is recorded as incarnation ${recorded}, the sender runs ${show(env.incarnation)}: ` +
      `its data dir was lost or replaced; remove and re-add ${env.from} to bring it back`,
  };
}

/** Judges one batch of Raft messages from one sender. */
export function judgeBatch(view: AcceptanceView, env: PeerEnvelope, messages: readonly Message[]): BatchVerdict {
  const refused = judgeEnvelope(view, env);
  if (refused !== null) return { accept: false, refusal: refused };
  for (const m of messages) {
    const lead = termLeadProblem(m.term, view.term);
    if (lead !== null) return { accept: false, refusal: { code: 'TERM_LEAD', reason: `${m.type} from ${env.from}: ${lead}` } };
  }
  if (messages.some((m) => COUNTED.has(m.type))) {
    const s = superseded(view, env);
    if (s !== null) return { accept: false, refusal: s };
  }
  // Rule 2, the other way: a leader's message stamped for another data dir of this member.
  const meantFor = env.toIncarnation;
  if (meantFor !== '' && meantFor !== view.identity.incarnation) {
    const refused = refuseLeaderMessage(messages, 'OTHER_INCARNATION', (led) =>
      `${led} from ${env.from} was meant for incarnation ${meantFor} of ${view.self}, which now runs ${view.identity.incarnation}: ` +
      `sent before ${view.self} was rebuilt, or ${env.from} has not applied its re-addition yet`,
    );
    if (refused !== null) return refused;
  }
  const ours = localClusterId(view);
  if (ours !== null && env.clusterId === '') {
    const refused = refuseLeaderMessage(messages, 'NO_CLUSTER_ID', (led) =>
      `${led} from ${env.from}, which has no cluster id, to a member of cluster ${ours}: it may have bootstrapped alone; only leaders of cluster ${ours} are followed`,
    );
    if (refused !== null) return refused;
  }
  const adopt = ours === null && env.clusterId !== '' ? env.clusterId : null;
  // Votes are judged as the node will be once it holds the sender's cluster id.
  const voter = adopt === null ? view : { ...view, identity: { ...view.identity, clusterId: adopt } };
  const deliver: Message[] = [];
  const dropped: Dropped[] = [];
  for (const m of messages) {
    const refused = m.type === 'PreVote' || m.type === 'Vote' ? judgeVote(voter, m.lastLogIndex) : null;
    if (refused === null) deliver.push(m);
    else dropped.push({ message: m, why: refused.why, rule: refused.rule });
  }
  return { accept: true, deliver, dropped, adopt, creationSeen: showsCreation(view, env, messages) };
}

/**
 * Evidence of a new cluster's creation (rule 6), from a peer without a cluster id: a vote asked
 * by a candidate with nothing beyond the first entry, or a vote granted to this node while it
 * had nothing beyond it (so the voter had not either). A leader's message without an id is no
 * evidence on its own: its id comes from its applied state, which lags its log until it commits
 * an entry of its own term, so a new leader holding the committed entry that drew the id sends
 * none (identity seed 20705). What a leader vouches for is (creationByCommit).
 */
function showsCreation(view: AcceptanceView, env: PeerEnvelope, messages: readonly Message[]): boolean {
  if (env.clusterId !== '') return false;
  return messages.some(
    (m) =>
      ((m.type === 'PreVote' || m.type === 'Vote') && m.lastLogIndex <= 1) ||
      ((m.type === 'PreVoteResp' || m.type === 'VoteResp') && !m.reject && view.lastIndex <= 1),
  );
}

/** What a node holds of its leader's word, for rule 6: see creationByCommit. */
export interface HeldCommit {
  readonly identity: LocalIdentity;
  /** The cluster id in the applied state; null before it. */
  readonly appliedClusterId: string | null;
  readonly appliedIndex: number;
  /** The commit index if the leader of the node's term vouched for it (Raft.vouchedCommit); else null. */
  readonly vouchedCommit: number | null;
}

/**
 * Rule 6's evidence from a leader: this node applied its log through a commit index the leader
 * of its term vouched for (an entry of that term: the leader had committed every earlier
 * entry by then), and the applied state has no cluster id. Then no entry that drew the id was
 * committed before that leader's term, nor in it up to there: whatever this data dir replaced
 * acknowledged nothing of an established cluster that this log lacks, and it is as new as any
 * member at the creation. Had the id been committed, the applied state would carry the cluster's
 * records, and rule 5 would decide instead.
 */
export function creationByCommit(h: HeldCommit): boolean {
  const { identity } = h;
  if (identity.origin !== 'bootstrap' || identity.creationSeen || identity.clusterId !== null || h.appliedClusterId !== null) return false;
  return h.vouchedCommit !== null && h.appliedIndex >= h.vouchedCommit;
}

/** Judges a membership ping (or any RPC that is not a Raft batch): rules 1 and 2. */
export function judgePing(view: AcceptanceView, env: PeerEnvelope): Refusal | null {
  return judgeEnvelope(view, env) ?? superseded(view, env);
}

/**
 * Rule 7: the cluster id is drawn by an entry after the first, committed before any node holds
 * the id, so once this node knows it, a candidate with nothing beyond the first entry lacks a
 * committed entry; null otherwise.
 */
function staleCandidate(view: AcceptanceView, candidateLastIndex: number): VoteRefusal | null {
  const known = localClusterId(view);
  if (known === null || candidateLastIndex > 1) return null;
  return {
    rule: 7,
    why: `cluster ${known} exists, so its creation is over: a candidate with nothing beyond the first entry lacks entries the cluster committed (a lost data dir that bootstrapped alone, say)`,
  };
}

/**
 * Rules 5, 6 and 7 applied to this node's vote for itself: a candidate counts its own vote, so a
 * node campaigns only where it would grant a candidate with its own log. One exception to rule
 * 6's "nothing beyond the first entry": a log whose entries beyond it are all of one term, no later
 * term heard from another node since (`onlyTermBeyondBootstrap`; a term reached by this node's own
 * campaigns does not count) came from a leader elected with nothing beyond the first entry, so
 * nothing beyond it was committed before that term: such a node is as new as the creation. Without
 * it, a new cluster whose first leader crashed before its no-op committed could be left with a
 * member that bootstrapped unanswered, holding that no-op, and others it refuses (rule 6) while
 * it may not stand either. Null when it may campaign.
 */
export function judgeCampaign(view: AcceptanceView, onlyTermBeyondBootstrap: boolean): VoteRefusal | null {
  const refused = judgeVote(view, view.lastIndex);
  const beyondFirst = refused?.rule === 6 && view.identity.clusterId === null;
  return beyondFirst && onlyTermBeyondBootstrap ? null : refused;
}

/** Rules 5, 6 and 7: null when this node may answer a vote request; otherwise why not. */
export function voteRefusal(view: AcceptanceView, candidateLastIndex: number): string | null {
  return judgeVote(view, candidateLastIndex)?.why ?? null;
}

/** Rules 5, 6 and 7, naming the rule that refuses; null when this node may answer. */
export function judgeVote(view: AcceptanceView, candidateLastIndex: number): VoteRefusal | null {
  const { identity, self } = view;
  const recorded = view.members.get(self)?.incarnation ?? '';
  if (recorded === identity.incarnation) return staleCandidate(view, candidateLastIndex);
  if (recorded !== '') return { rule: 5, why: `${self} is recorded as incarnation ${recorded}, this data dir is ${identity.incarnation}: it never votes` };
  // Recorded before this node's applied state caught up with it (a restart, a lagging apply).
  if (identity.recorded) return staleCandidate(view, candidateLastIndex);
  const applied = view.members.clusterId;
  if (applied !== null) return { rule: 5, why: `${self} does not vote until cluster ${applied} has recorded its incarnation ${identity.incarnation}` };
  // The applied state predates the cluster id (a new cluster, or a restart whose commit index
  // lags): it cannot say whether this data dir was recorded. A member that started empty waits;
  // one that holds the cluster's first entries votes as every member of a new cluster does.
  if (identity.origin === 'join') return { rule: 5, why: `${self} started empty to join a cluster and does not vote before the cluster records it` };
  if (identity.origin === 'bootstrap' && !identity.creationSeen) {
    if (identity.clusterId !== null) {
      return {
        rule: 6,
        why: `${self} bootstrapped while no peer answered, and cluster ${identity.clusterId} exists already: it votes once the cluster has recorded its incarnation ${identity.incarnation}`,
      };
    }
    if (candidateLastIndex > 1) {
      return {
        rule: 6,
        why:
          `${self} bootstrapped while no peer answered and has seen no sign of the cluster's creation: ` +
          `it votes only for a candidate with nothing beyond the first entry (found one with last index ${candidateLastIndex})`,
      };
    }
  }
  return staleCandidate(view, candidateLastIndex);
}
