/**
 * The node's side of identity at run time: the transport asks it whether to let a peer's
 * message in (src/identity's checks over the applied state), it remembers which data dir each
 * peer last spoke from, persists the cluster id when this node first learns it, proposes the
 * leader's identity duties, and reports refusals to the log, the audit trail and the metrics.
 */
import type { Logger } from 'pino';
import {
  asksAtCreation,
  describeDifference,
  helloReply,
  initialNodes,
  sameInitialNodes,
  IdentityConflictError,
  creationByCommit,
  judgeBatch,
  judgeEnvelope,
  judgeCampaign,
  judgePing,
  leaderDuties,
  type AcceptanceView,
  type BatchVerdict,
  type Duty,
  type HeardFrom,
  type HelloAsk,
  type HelloReply,
  type InitialNodes,
  type LocalIdentity,
  type PeerEnvelope,
  type Refusal,
  type RefusalCode,
  type VoteRefusal,
} from '../identity/index.js';
import { DuplicateMarks, type DuplicateMark } from '../identity/duplicate-marks.js';
import { describeRefusedForName, NameRefusers } from '../identity/name-refusers.js';
import { describeOtherClusters, OtherClusterPeers, refuserClusterIdIn, refuserIdIn, type OtherClusterPeer } from '../identity/other-cluster-peers.js';
import { PROVEN_HOLDS, ProcessClaims, spokenAt, type Spoken } from '../identity/process-claims.js';
import type { Message } from '../raft/messages.js';
import { BOOT_ID_VERSION } from '../statemachine/cluster-version.js';
import type { ApplyResult, MembersView } from '../statemachine/index.js';
import type { StatusReport, TransportIdentity } from '../transport/index.js';
import type { WireIdentity } from '../transport/wire.js';

/** Same refusal (peer and code) logged and audited at most this often. */
const REPORT_INTERVAL_MS = 60_000;
const MAX_REPORT_KEYS = 1000;

export interface NodeIdentityState {
  /** The applied membership records. */
  members(): MembersView;
  /** The node's current term and last log index. */
  raft(): { readonly term: number; readonly lastIndex: number };
  appliedIndex(): number;
  /** The commit index if the leader of this node's term vouched for it (RaftHost.vouchedCommit); else null. Absent: never. */
  vouchedCommit?(): number | null;
  /** Whether every entry beyond the bootstrap is of one term, no later one heard from another node (RaftHost.onlyTermBeyondBootstrap). Absent: never. */
  onlyTermBeyondBootstrap?(): boolean;
  /**
   * Whether every member runs a version that stamps its boot id (the cluster version, which
   * only rises once all have): then a message without one is refused. Absent: never required.
   */
  bootRequired?(): boolean;
}

export interface NodeIdentityOptions {
  readonly self: string;
  readonly clusterName: string;
  /** Ids in the cluster file. */
  readonly configured: (id: string) => boolean;
  /** The cluster file's nodes: what this node bootstraps from (its log says what it did). */
  readonly fileNodes: InitialNodes;
  readonly identity: LocalIdentity;
  /** This process, drawn at its start; stamped on every envelope (process-claims.ts). */
  readonly boot: string;
  /** How long a member's process must be silent before another may speak for it: its restart. */
  readonly processHoldMs: number;
  /**
   * Writes the identity record, synced. Returns a promise (LevelDB), or nothing when the write
   * is done already (the simulation's disk).
   */
  readonly persist: (identity: LocalIdentity) => Promise<void> | void;
  readonly logger: Logger;
  /** `direction` in: this node refused `peer`; out: `peer` refused this node. */
  readonly onRefusal: (direction: 'in' | 'out', peer: string, code: RefusalCode | null, details: string, report: boolean) => void;
  readonly reportStatus: (from: string, report: StatusReport) => Promise<boolean>;
  /** The data dir contradicts the applied state: the process must stop. */
  readonly onFatal: (err: Error) => void;
  readonly now: () => number;
  /** How long a peer seen answering for another cluster id stays marked without being seen again (other-cluster-peers.ts). */
  readonly otherClusterWindowMs?: number;
}

export class NodeIdentity implements TransportIdentity {
  private local: LocalIdentity;
  private state: NodeIdentityState | null = null;
  /** Identity record writes in flight, one after the other; `writing` holds the newest. */
  private writes: Promise<void> | null = null;
  private writing: LocalIdentity | null = null;
  private readonly heard = new Map<string, HeardFrom>();
  private readonly lastReport = new Map<string, number>();
  private readonly pending = new Set<string>();
  private leaderSince: { readonly atMs: number; readonly noopIndex: number } | null = null;
  private readonly processes: ProcessClaims;
  /**
   * Messages of a member's process that were behind its restart's term and set aside rather
   * than counted as that process speaking (process-claims.ts, `admitTo`); for tests and stats.
   */
  private setAsideCount = 0;
  /** Processes proven second processes of a member's data dir (process-claims.ts); for tests and stats. */
  private provenCount = 0;
  private readonly duplicates: DuplicateMarks;
  private readonly nameRefusers: NameRefusers;
  private readonly otherClusters: OtherClusterPeers;

  constructor(private readonly opts: NodeIdentityOptions) {
    this.local = opts.identity;
    this.processes = new ProcessClaims(opts.processHoldMs);
    // Marked as long as a proven copy is locked out; refused by a peer: within two holds, as
    // a refused process retries far more often than that.
    this.duplicates = new DuplicateMarks(PROVEN_HOLDS * opts.processHoldMs, opts.processHoldMs);
    this.nameRefusers = new NameRefusers(2 * opts.processHoldMs);
    this.otherClusters = new OtherClusterPeers(opts.otherClusterWindowMs ?? 8 * opts.processHoldMs);
  }

  get identity(): LocalIdentity {
    return this.local;
  }

  /** The host and state machine exist only after the transport: they are bound afterwards. */
  bind(state: NodeIdentityState): void {
    this.state = state;
  }

  envelope(to: string): WireIdentity {
    return {
      clusterId: this.clusterId() ?? '',
      incarnation: this.local.incarnation,
      toIncarnation: this.state?.members().get(to)?.incarnation ?? '',
      creation: this.local.creation ?? '',
      boot: this.opts.boot,
    };
  }

  clusterId(): string | null {
    return this.local.clusterId ?? this.state?.members().clusterId ?? null;
  }

  judgeEnvelope(env: PeerEnvelope): Refusal | null {
    return this.noteOtherCluster(env, judgeEnvelope(this.view(), env)) ?? this.admitProcess(env);
  }

  judgeBatch(env: PeerEnvelope, messages: readonly Message[]): BatchVerdict {
    const verdict = judgeBatch(this.view(), env, messages);
    if (!verdict.accept) this.noteOtherCluster(env, verdict.refusal);
    const duplicate = verdict.accept ? this.admitProcess(env, spokenAt(messages)) : null;
    if (duplicate !== null) return { accept: false, refusal: duplicate };
    if (verdict.accept && verdict.creationSeen && !(this.writing ?? this.local).creationSeen) {
      this.update((i) => ({ ...i, creationSeen: true }), `${env.from} shows the cluster's creation`);
    }
    if (!verdict.accept || verdict.adopt === null) return verdict;
    // Joining a cluster is written down before it takes effect: until then, deliver nothing.
    this.adopt(verdict.adopt, `first heard from ${env.from}`);
    return { accept: true, deliver: [], dropped: messages.map((message) => ({ message, why: 'recording the cluster id first', rule: null })), adopt: null, creationSeen: verdict.creationSeen };
  }

  judgePing(env: PeerEnvelope): Refusal | null {
    return this.noteOtherCluster(env, judgePing(this.view(), env)) ?? this.admitProcess(env);
  }

  /** A CLUSTER_ID refusal of a member's or the file's peer marks it as another cluster's; returns the refusal. */
  private noteOtherCluster(env: PeerEnvelope, refusal: Refusal | null): Refusal | null {
    if (refusal?.code === 'CLUSTER_ID') this.sawOtherCluster(env.from, env.clusterId, 'its message carries that cluster id');
    return refusal;
  }

  /** `peer` answers for `clusterId` (null: unknown), which is not this node's: marked, and logged at error level once per change. */
  private sawOtherCluster(peer: string, clusterId: string | null, how: string): void {
    if (this.named(peer) === 'unknown') return;
    if (!this.otherClusters.seen(peer, clusterId, this.opts.now())) return;
    this.opts.logger.error(
      { peer, peerClusterId: clusterId, clusterId: this.clusterId(), code: 'OTHER_CLUSTER_PEER' },
      `${describeOtherClusters(this.opts.self, this.clusterId(), [{ peer, clusterId }])} (${how})`,
    );
  }

  /** `peer` is no longer marked as another cluster's; logged when it was. */
  private forgetOtherCluster(peer: string, why: string): void {
    if (this.otherClusters.accepted(peer)) this.opts.logger.info({ peer, code: 'OTHER_CLUSTER_PEER' }, `${peer} no longer answers for another cluster: ${why}`);
  }

  /**
   * A file peer's answer to the periodic question (other-cluster-probe.ts): the cluster id it
   * holds (null: none yet, a new or joining node, which says nothing).
   */
  answeredFor(peer: string, clusterId: string | null): void {
    const ours = this.clusterId();
    if (ours === null || clusterId === null) return;
    if (clusterId === ours) this.forgetOtherCluster(peer, `it answers for cluster ${ours}`);
    else this.sawOtherCluster(peer, clusterId, 'it answered the periodic question so');
  }

  /** The peers seen answering for another cluster id, in id order (other-cluster-peers.ts). */
  otherClusterPeers(): OtherClusterPeer[] {
    const now = this.opts.now();
    for (const peer of this.otherClusters.expire(now)) this.opts.logger.info({ peer, code: 'OTHER_CLUSTER_PEER' }, `${peer} has not been seen answering for another cluster for a while: no longer marked`);
    return this.otherClusters.current(now);
  }

  /** Why this node's answers are not to be trusted, naming those peers and the fix; '' when none. */
  otherClustersReason(): string {
    return describeOtherClusters(this.opts.self, this.clusterId(), this.otherClusterPeers());
  }

  /** One process per member id (process-claims.ts); judged after the other rules, so only members' messages claim one. */
  private admitProcess(env: PeerEnvelope, spoken?: Spoken): Refusal | null {
    // '' is how 0.2.x members speak, mid-upgrade; once the cluster version says none is left, it
    // is a sender skipping the one-process check.
    if (env.boot === '' && this.state?.bootRequired?.() === true) {
      return {
        code: 'MALFORMED_ENVELOPE',
        reason: `boot: expected 16 hex digits, found none: every member of this cluster runs ${BOOT_ID_VERSION} or later, which stamps its process on every message`,
      };
    }
    const now = this.opts.now();
    const outcome = this.processes.admit(env.from, env.incarnation, env.boot, now, spoken?.term, spoken?.reach, spoken?.bare, spoken?.atMost);
    if (outcome.refusal === null || outcome.refusal.code === 'DUPLICATE_PROCESS') this.duplicates.note(env.from, env.boot, outcome.refusal === null, now);
    if (outcome.refusal !== null) return outcome.refusal;
    if (outcome.setAside) this.setAsideCount++;
    if (outcome.replaced !== null) {
      this.opts.logger.info({ peer: env.from, boot: env.boot, previous: outcome.replaced }, `${env.from} speaks from a new process (${env.boot}; ${outcome.replaced} fell silent): a restart`);
    }
    for (const second of outcome.proven) {
      this.provenCount++;
      this.duplicates.proven(env.from, second, now);
      this.opts.logger.error(
        { peer: env.from, boot: env.boot, second, code: 'DUPLICATE_PROCESS' },
        `a second process speaks as ${env.from} (${second}, beside ${env.boot} for longer than a restart takes): refused until ${env.from}'s process falls silent for ${PROVEN_HOLDS * this.opts.processHoldMs}ms; stop the copy of its data dir`,
      );
    }
    return null;
  }

  noteHeard(env: PeerEnvelope): void {
    // Only a member's data dir is evidence: a removed member's process may still be talking,
    // and what it says must not be recorded for a new member added under the same id.
    if (this.isMember(env.from)) this.heard.set(env.from, { incarnation: env.incarnation, atMs: this.opts.now() });
    if (env.clusterId !== '' && env.clusterId === this.clusterId()) this.forgetOtherCluster(env.from, `accepted under cluster ${env.clusterId}`);
    // A member of our cluster whose applied state records this data dir: a committed fact.
    const ours = this.local.clusterId;
    if (!this.local.recorded && ours !== null && env.clusterId === ours && env.toIncarnation === this.local.incarnation) {
      this.update((i) => ({ ...i, recorded: true }), `${env.from} has applied its record`);
    }
  }

  /** A member of the applied table; anyone before the table exists (a new cluster's start). */
  private isMember(id: string): boolean {
    const members = this.state?.members();
    return members === undefined || members.size === 0 || members.get(id) !== null;
  }

  /** How many messages were set aside as a crashed process's, behind its restart's term. */
  get lateMessagesSetAside(): number {
    return this.setAsideCount;
  }

  /** How many processes were proven second processes of a member's data dir. */
  get copiesProven(): number {
    return this.provenCount;
  }

  heardFrom(id: string): string | null {
    return this.heard.get(id)?.incarnation ?? null;
  }

  onRefused(peer: string, refusal: Refusal): void {
    // A caller whose certificate is not the claimed member's is not that member: naming it so
    // would have a reader look for a fault on a member that sent nothing.
    const unproven = refusal.code === 'NOT_A_PEER' || refusal.code === 'WRONG_PEER';
    const who = unproven ? 'unknown' : this.named(peer);
    const reason = unproven ? `${refusal.reason} (it claimed to be ${JSON.stringify(peer.slice(0, 64))})` : refusal.reason;
    this.opts.onRefusal('in', who, refusal.code, reason, this.shouldReport(`in:${who}:${refusal.code}`));
  }

  onRefusedBy(peer: string, code: RefusalCode | null, details: string): void {
    const who = this.named(peer);
    if (code === 'DUPLICATE_PROCESS' && who !== 'unknown') this.duplicates.refusedBy(who, this.opts.now());
    if (code === 'CLUSTER_NAME' && who !== 'unknown') this.nameRefusers.refusedBy(who, details, this.opts.now());
    // Not when the refuser names itself otherwise: another cluster's node has taken `peer`'s
    // address (the dial's warning names it: ping-failure.ts), no second cluster under our file.
    const refuser = refuserIdIn(details);
    if (code === 'CLUSTER_ID' && (refuser === null || refuser === peer)) this.sawOtherCluster(who, refuserClusterIdIn(details), 'it refuses this node as CLUSTER_ID');
    this.opts.onRefusal('out', who, code, details, this.shouldReport(`out:${who}:${code ?? 'other'}`));
  }

  /** Two processes speak as member `id`, as this node saw it (duplicate-marks.ts); null: none seen. */
  duplicateMark(id: string): DuplicateMark | null {
    return this.duplicates.mark(id, this.opts.now());
  }

  /** The peers that refuse this node now as a second process of its own member, in id order. */
  refusedAsDuplicateBy(): string[] {
    return this.duplicates.refusingPeers(this.opts.now());
  }

  /** Why peers refuse this node's cluster name now, for its cut-off reason; '' when none do (name-refusers.ts). */
  refusedForName(): string {
    return describeRefusedForName(this.opts.self, this.opts.clusterName, this.nameRefusers.refusing(this.opts.now()));
  }

  /** A sender's id as logged and counted: a member's, else 'unknown' (ids from outside are unbounded). */
  private named(peer: string): string {
    return this.opts.configured(peer) || this.state?.members().get(peer) ? peer : 'unknown';
  }

  hello(from: string, ask: HelloAsk): HelloReply {
    const st = this.bound();
    const pending = this.writing ?? this.local;
    if (asksAtCreation(ask) && this.opts.configured(from) && pending.clusterId === null && this.clusterId() === null && !pending.creationSeen) {
      this.update((i) => ({ ...i, creationSeen: true }), `${from} asks to create the cluster too`);
    }
    const held = this.clusterId();
    if (ask.clusterId !== null && held !== null && ask.clusterId !== held) this.sawOtherCluster(from, ask.clusterId, 'it asked the start-up question so');
    const ours = this.initialNodes();
    if (asksAtCreation(ask) && ask.nodes !== null && this.clusterId() === null && !sameInitialNodes(ask.nodes, ours) && this.shouldReport(`nodes:${this.named(from)}`)) {
      this.opts.logger.warn(
        { peer: from, difference: describeDifference(ours, ask.nodes, from) },
        `${from} asks to create the cluster from another cluster.nodes than this node's (${describeDifference(ours, ask.nodes, from)}); it refuses to bootstrap until the files agree`,
      );
    }
    return helloReply(
      {
        identity: { ...this.local, clusterId: this.clusterId() },
        members: st.members(),
        lastIndex: st.raft().lastIndex,
        appliedIndex: st.appliedIndex(),
        heardFrom: (id) => this.heardFrom(id),
        initialNodes: ours,
      },
      from,
      ask,
    );
  }

  /** What this node bootstrapped from (the members its log applied), or, before that, its file's nodes. */
  private initialNodes(): InitialNodes {
    const applied = this.bound().members().list();
    return applied.length > 0 ? initialNodes(applied) : this.opts.fileNodes;
  }

  reportStatus(from: string, report: StatusReport): Promise<boolean> {
    return this.opts.reportStatus(from, report);
  }

  /** After entries are applied: learn the cluster id from the log, and never contradict it. */
  onApplied(): void {
    const members = this.bound().members();
    // A removed member's last incarnation is forgotten with it (it may be re-added, empty).
    for (const id of this.heard.keys()) if (!this.isMember(id)) this.heard.delete(id);
    this.duplicates.retain((id) => this.isMember(id));
    this.nameRefusers.retain((id) => this.isMember(id) || this.opts.configured(id));
    for (const peer of this.otherClusters.retain((id) => this.isMember(id) || this.opts.configured(id))) {
      this.opts.logger.info({ peer, code: 'OTHER_CLUSTER_PEER' }, `${peer} is neither a member nor in the cluster file: no longer marked as another cluster's`);
    }
    const applied = members.clusterId;
    if (applied === null) {
      this.creationVouched(members);
      return;
    }
    const recordedHere = members.get(this.opts.self)?.incarnation === this.local.incarnation;
    const pending = this.writing ?? this.local;
    if (pending.clusterId === null) {
      this.update((i) => ({ ...i, clusterId: applied, recorded: i.recorded || recordedHere }), `member of cluster ${applied}: applied from the log`);
    } else if (pending.clusterId === applied && !pending.recorded && recordedHere) {
      this.update((i) => ({ ...i, recorded: true }), 'applied its record');
    } else if (this.local.clusterId !== null && this.local.clusterId !== applied) {
      this.opts.onFatal(
        new IdentityConflictError(
          `data dir of ${this.opts.self} belongs to cluster ${this.local.clusterId}, but its log says cluster ${applied}: refusing to continue`,
        ),
      );
    }
  }

  /** Rule 6's sign from a leader: this node applied a commit index it vouched for, with no cluster id (acceptance.ts, creationByCommit). */
  private creationVouched(members: MembersView): void {
    const st = this.bound();
    const pending = this.writing ?? this.local;
    const held = { identity: pending, appliedClusterId: members.clusterId, appliedIndex: st.appliedIndex(), vouchedCommit: st.vouchedCommit?.() ?? null };
    if (creationByCommit(held)) this.update((i) => ({ ...i, creationSeen: true }), `applied through ${held.vouchedCommit}, vouched for by its leader: the cluster has no id yet`);
  }

  /**
   * Whether this node may elect itself now: the vote rules (acceptance.ts, 5 to 7) judge its own
   * log as they would a candidate's (judgeCampaign). Before the host is bound: no opinion.
   */
  mayCampaign(): boolean {
    return this.campaignRefusal() === null;
  }

  /** Why this node may not elect itself now (mayCampaign), by which rule; null when it may. */
  campaignRefusal(): VoteRefusal | null {
    if (this.state === null) return null;
    return judgeCampaign(this.view(), this.state.onlyTermBeyondBootstrap?.() ?? false);
  }

  /** On a change of role: a new leader waits for its no-op to apply before deciding anything. */
  onRole(leading: boolean): void {
    this.leaderSince = leading ? { atMs: this.opts.now(), noopIndex: this.bound().raft().lastIndex } : null;
    this.pending.clear();
  }

  /** What the leader should propose now; the caller proposes each and reports back. */
  duties(): Duty[] {
    const st = this.bound();
    const since = this.leaderSince;
    const members = st.members();
    const duties = leaderDuties({
      self: { id: this.opts.self, incarnation: this.local.incarnation },
      leading: since !== null && st.appliedIndex() >= since.noopIndex,
      appliedClusterId: members.clusterId,
      ownClusterId: this.local.clusterId,
      members: members.list().map((m) => ({ id: m.id, role: m.role, incarnation: m.incarnation })),
      wasRemoved: (i) => members.wasRemoved(i),
      heard: this.heard,
      leaderSinceMs: since?.atMs ?? 0,
      nowMs: this.opts.now(),
      establishAfterMs: ESTABLISH_AFTER_MS,
    });
    return duties.filter((d) => !this.pending.has(dutyKey(d)));
  }

  /** Tracks a proposed duty so it is not proposed twice while in flight. */
  proposed(d: Duty, result: Promise<ApplyResult>): void {
    const settle = this.begin(d);
    result.then(settle, settle);
  }

  /** A duty is being proposed; call the returned function with its outcome. */
  begin(d: Duty): (outcome: ApplyResult | unknown) => void {
    const key = dutyKey(d);
    this.pending.add(key);
    return (outcome) => {
      this.pending.delete(key);
      const result = outcome as Partial<ApplyResult> | null;
      if (result?.ok === true) this.opts.logger.info({ duty: d }, d.kind === 'establish' ? 'cluster identity established' : `recorded the incarnation of ${d.id}`);
      else if (result?.ok === false) this.opts.logger.warn({ duty: d, result }, 'identity proposal not applied');
      else this.opts.logger.debug({ err: outcome, duty: d }, 'identity proposal failed; will retry');
    };
  }

  private adopt(clusterId: string, how: string): void {
    if (this.local.clusterId !== null || this.writing?.clusterId === clusterId) return;
    this.update((i) => ({ ...i, clusterId }), `member of cluster ${clusterId}: ${how}`);
  }

  /**
   * Writes the identity record changed by `change` and only then makes it this node's: a
   * cluster id or a recorded flag takes effect once it is durable. Writes run one at a time.
   */
  private update(change: (i: LocalIdentity) => LocalIdentity, what: string): void {
    const pending = change(this.writing ?? this.local);
    if (this.writing !== null && JSON.stringify(pending) === JSON.stringify(this.writing)) return;
    const done = (): void => {
      this.local = pending;
      if (this.writing === pending) this.writing = null;
      this.opts.logger.info({ identity: pending }, what);
    };
    const failed = (err: unknown): void => {
      this.writing = null;
      this.opts.onFatal(err instanceof Error ? err : new Error(String(err)));
    };
    this.writing = pending;
    if (this.writes === null) {
      // Nothing in flight: a synchronous store (the simulation's) takes effect at once.
      const written = this.opts.persist(pending);
      if (written === undefined) {
        done();
        return;
      }
      this.writes = written.then(done, failed);
    } else {
      this.writes = this.writes.then(() => this.opts.persist(pending)).then(done, failed);
    }
    const mine = this.writes;
    void mine.then(() => {
      if (this.writes === mine) this.writes = null;
    });
  }

  private shouldReport(key: string): boolean {
    const now = this.opts.now();
    const last = this.lastReport.get(key);
    if (last !== undefined && now - last < REPORT_INTERVAL_MS) return false;
    if (this.lastReport.size >= MAX_REPORT_KEYS) this.lastReport.clear();
    this.lastReport.set(key, now);
    return true;
  }

  private bound(): NodeIdentityState {
    if (this.state === null) throw new Error('NodeIdentity used before bind()');
    return this.state;
  }

  private view(): AcceptanceView {
    const st = this.bound();
    const { term, lastIndex } = st.raft();
    return {
      self: this.opts.self,
      clusterName: this.opts.clusterName,
      identity: this.local,
      term,
      lastIndex,
      members: st.members(),
      configured: this.opts.configured,
    };
  }
}

/** How long a new cluster's first leader waits to hear every voter before drawing the id. */
export const ESTABLISH_AFTER_MS = 3000;

function dutyKey(d: Duty): string {
  return d.kind === 'establish' ? 'establish' : `record:${d.id}`;
}
