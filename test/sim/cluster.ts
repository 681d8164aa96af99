/**
 * N simulated controllers, each running the production RaftHost (sim-node.ts), on a simulated
 * network and simulated time (sim-time.ts). Every timer, "run soon" callback, message delivery
 * and disk completion is one event of one agenda, ordered by the seed; after every event the
 * safety invariants are checked (invariants.ts) and client guarantees are tracked (clients.ts).
 *
 * Membership follows the log: `members()` is the configuration the core reported for the
 * highest applied conf entry anywhere. A removed node that applied its own removal shuts down
 * (as etcd's server does) and is never restarted; one that never learned of it keeps running
 * as a zombie.
 *
 * With `identity`, the identity layer runs as in production (sim-identity.ts): every delivery
 * passes the acceptance check, leaders draw the cluster id and record incarnations, processes
 * start through the start-up decision, and the schedule may lose a node's disk: it restarts
 * empty, and when the cluster refuses it, it is rebuilt as docs/operate.md says (removed, added
 * back as a learner with an empty disk, promoted by the schedule once caught up).
 */
import { HostError } from '../../src/api/consensus-port.js';
import { raftTickMs, type RaftHost } from '../../src/node/raft-host.js';
import {
  bootstrapState,
  RaftError,
  type ConfEntry,
  type ConfState,
  type Entry,
  type MemoryStorage,
  type Message,
  type NodeId,
  type SnapshotMeta,
  type SoftState,
} from '../../src/raft/index.js';
import type { StorageUpdate } from '../../src/node/raft-ports.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { ClientTracker } from './clients.js';
import { Disk, bootstrapDisk } from './disk.js';
import { SafetyChecker } from './invariants.js';
import type { PeerEnvelope } from '../../src/identity/index.js';
import { checkNodes, confText, leansOnOwnCopy, logView, mix } from './node-checks.js';
import { SimIdentity } from './sim-identity.js';
import { encodePut } from './kv.js';
import { SimNetwork, type DropReason, type FaultSettings, type InFlight } from './network.js';
import { EntriesLostStop, SimNode, startAsPersisted, type NodeEnv, type NodeObserver, type NodeSettings, type StartDecision } from './sim-node.js';
import type { DiskLatency } from './sim-storage.js';
import { SimProcess, SimWorld } from './sim-time.js';
import type { Trace } from './trace.js';

export const STAT_NAMES = [
  'ticks',
  'leaders',
  'crashes',
  'restarts',
  'lostUnsynced',
  'crashesMidWrite',
  'leaderCrashesAheadOfDisk',
  'snapshotsTaken',
  'snapshotsInstalled',
  'proposals',
  'acked',
  'reads',
  'readsServed',
  'transfers',
  'transfersCompleted',
  'learnersAdded',
  'promotions',
  'promotionsFromTwoVoters',
  'crashesMidConfChange',
  'removals',
  'leaderSelfRemovals',
  'partitions',
  'disksLost',
  /** A node that lost its disk restarted while no peer answered and wrote a bootstrap entry. */
  'lostDisksBootstrapped',
  'refusedStarts',
  'rebuilds',
  /** Messages the identity checks refused. */
  'identityRefusals',
  /**
   * Vote requests rule 7 kept from a voter whose own log had nothing beyond the first entry
   * either, so that Raft's own up-to-date check would have let them through (acceptance.ts).
   */
  'creationOverVotes',
  /**
   * Campaigns rule 6 withheld from a data dir that bootstrapped while no peer answered, saw no
   * creation, and holds a log beyond the first entry (a leader's, below a commit it vouched
   * for): its own vote would have elected it with a laggard's (NodeIdentity.mayCampaign).
   */
  'campaignsWithheld',
  /**
   * Messages of a crashed process, arriving after its restart spoke at a later term, set aside
   * instead of holding the member's id or proving the restart a copy (process-claims.ts).
   */
  'lateMessagesSetAside',
  /**
   * Processes a receiver proved second processes of a member's data dir (DUPLICATE_PROCESS). The
   * simulation runs no copies: each is a restart taken for one, locked out for 30 holds.
   */
  'copiesProven',
  /**
   * Replacements of a lost data dir stopped with ENTRIES_LOST by a leader that counts the lost
   * one's acknowledgements (it was heard, not yet recorded, and the peers that heard it could
   * not answer the replacement's start-up question), then rebuilt as an operator would.
   */
  'replacementsStopped',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type SimStats = Record<StatName, number>;

export function emptyStats(): SimStats {
  return Object.fromEntries(STAT_NAMES.map((k) => [k, 0])) as SimStats;
}

/** How long a node's writes take: fsyncs up to `syncMaxMs`, unsynced writes up to `writeMaxMs`. */
export interface DiskSettings {
  readonly syncMaxMs: number;
  readonly writeMaxMs: number;
}

export interface ClusterOptions {
  readonly seed: number;
  readonly voters: readonly NodeId[];
  readonly node: NodeSettings;
  readonly faults: FaultSettings;
  readonly disk: DiskSettings;
  /** Probability that a crash loses some of the writes that were not yet durable. */
  readonly loseUnsyncedRate: number;
  readonly trace: Trace;
  /** Lets a test plant a bug in every RaftHost the cluster starts. */
  readonly plant?: (host: RaftHost) => void;
  /** Lets a test refuse a delivery as a broken receiver would (the message is lost). */
  readonly refuse?: (m: Message, receiver: RaftHost) => boolean;
  readonly startDecision?: StartDecision;
  /** Runs the identity layer and allows the lost-disk fault (see the header). */
  readonly identity?: boolean;
  /** With `identity`: its checks planted out (run.ts). */
  readonly identityChecksOff?: boolean;
}

/** Proposals and reads give up after this many election timeouts (a client's deadline). */
const CLIENT_TIMEOUT_ELECTIONS = 20;

export class Cluster implements NodeObserver {
  readonly world = new SimWorld();
  readonly net: SimNetwork;
  readonly safety = new SafetyChecker();
  readonly clients = new ClientTracker();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats = emptyStats();
  readonly trace: Trace;
  /** One tick of every RaftHost's timer, in ms. */
  readonly tickMs: number;
  /** For choices the harness makes itself (whether a crash loses unsynced writes). */
  private readonly rng: Rng;
  /** The phases of the processes' timers: a stream of its own, so the schedule draws as before. */
  private readonly phaseRng: Rng;
  private readonly diskRng: Rng;
  private readonly env: NodeEnv;
  private latestConf: { index: number; conf: ConfState } = { index: 0, conf: { voters: [], learners: [] } };
  private readonly everMember = new Set<NodeId>();
  private readonly retired = new Set<NodeId>();
  private readonly lost = new Set<NodeId>();
  private readonly confIndexesSeen = new Set<number>();
  private transferTarget: NodeId | null = null;
  private armed: { readonly until: number; readonly restart: boolean } | null = null;
  private armedConf: { readonly until: number; readonly forGood: boolean } | null = null;
  /** Where each node's process last applied a conf entry. */
  private readonly confAppliedAt = new Map<NodeId, { readonly index: number; readonly incarnation: number }>();
  private readonly crashedAt = new Map<NodeId, number>();
  /** The process of each node's latest incarnation. */
  private readonly procs = new Map<NodeId, SimProcess>();
  private nextNodeNumber: number;
  /** Set by a test: asked at each firing of a node's timer; true misses it (a starved process). */
  missTimer: ((id: NodeId) => boolean) | null = null;
  /** The identity layer, when the options ask for it. */
  readonly identity: SimIdentity | null;
  /** The envelope each message left with (its identity fields as the sender stamped them). */
  private readonly envelopes = new WeakMap<Message, PeerEnvelope>();
  /** Nodes whose disk was lost and that the cluster has not recorded again since. */
  private readonly recovering = new Set<NodeId>();
  /** Disks the lost-disk fault wiped: what runs on one is a replacement of a lost data dir. */
  private readonly wiped = new WeakSet<Disk>();
  /** Per node: its current data dir's incarnation and the highest index that data dir acknowledged. */
  private readonly acknowledged = new Map<NodeId, { readonly incarnation: string; readonly index: number }>();
  /** Nodes the cluster refused, on their way back as new members: removed, added, caught on. */
  private readonly rebuilding = new Map<NodeId, 'removing' | 'adding' | 'joining'>();

  constructor(private readonly opts: ClusterOptions) {
    this.trace = opts.trace;
    this.tickMs = raftTickMs(opts.node.heartbeatIntervalMs);
    this.rng = seededRng(mix(opts.seed, 0x5eed));
    this.phaseRng = seededRng(mix(opts.seed, 0x9a5e));
    this.diskRng = seededRng(mix(opts.seed, 0xd15c));
    this.net = new SimNetwork(seededRng(mix(opts.seed, 0x6e7)), opts.faults, this.tickMs);
    this.net.onDrop = (f, reason) => this.onDrop(f, reason);
    this.net.onEnqueue = (f) => this.world.at(f.deliverAt, () => this.pump());
    this.world.afterEvent = () => this.checkStep();
    this.nextNodeNumber = opts.voters.length + 1;
    const latency: DiskLatency = {
      syncMs: () => this.diskRng.next() * opts.disk.syncMaxMs,
      writeMs: () => this.diskRng.next() * opts.disk.writeMaxMs,
    };
    this.env = {
      settings: opts.node,
      latency,
      observer: this,
      startDecision: opts.identity === true ? (id, onDisk) => this.identity!.decideStart(this.get(id), onDisk) : (opts.startDecision ?? startAsPersisted),
      newProcess: (n) => {
        const phase = this.phaseRng;
        const p = new SimProcess(this.world, () => 1 - phase.next());
        p.missTimer = () => this.missTimer?.(n.id) === true;
        this.procs.set(n.id, p);
        return p;
      },
      rngFor: (n) => this.nodeRng(n),
      send: (n, msgs) => this.send(n, msgs),
      mayCampaign: opts.identity === true ? (n) => this.identity?.mayCampaign(n) ?? true : undefined,
      plant: opts.plant,
    };
    this.identity =
      opts.identity === true
        ? new SimIdentity(
            {
              now: () => this.world.now,
              note: (text) => this.note(text),
              node: (id) => this.nodes.get(id),
              nodes: () => this.nodes.values(),
              connected: (a, b) => this.net.connected(a, b) && this.net.connected(b, a),
              initialVoters: opts.voters,
              started: (id, action) => {
                if (action === 'bootstrap' && this.recovering.has(id)) this.stats.lostDisksBootstrapped++;
              },
              refused: () => void this.stats.identityRefusals++,
              creationOverVote: () => void this.stats.creationOverVotes++,
              campaignWithheld: () => void this.stats.campaignsWithheld++,
              setAside: (n) => void (this.stats.lateMessagesSetAside += n),
              proven: (n) => void (this.stats.copiesProven += n),
              proposalTimeoutMs: CLIENT_TIMEOUT_ELECTIONS * opts.node.electionTimeoutMs,
              electionTimeoutMs: opts.node.electionTimeoutMs,
            },
            seededRng(mix(opts.seed, 0x1de)),
            opts.identityChecksOff === true,
          )
        : null;
    const b = bootstrapState(opts.voters, '');
    for (const id of opts.voters) {
      // With identities, the initial members start empty and create the cluster through the
      // start-up decision, asking each other, as `controller --config FILE --id ID` does.
      const n = new SimNode(id, this.env, this.identity ? new Disk() : bootstrapDisk(b.entry, b.hardState));
      this.nodes.set(id, n);
    }
    // Processes start at slightly different instants, so their timers are out of phase.
    for (const n of this.nodes.values()) this.world.at(this.rng.next() * this.tickMs, () => this.startNode(n));
    this.world.runUntil(this.tickMs);
  }

  get now(): number {
    return this.world.now;
  }

  note(text: string): void {
    this.trace.note(this.now, text);
  }

  // ---- queries ---------------------------------------------------------------------------

  get(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`sim: no node ${id}`);
    return n;
  }

  up(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** Crashed nodes that may be restarted (not retired, not lost for good). */
  down(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.up && !this.retired.has(n.id) && !this.lost.has(n.id));
  }

  /** Nodes whose machine died for good: never restarted by the schedule. */
  lostForGood(): ReadonlySet<NodeId> {
    return this.lost;
  }

  /** The node's machine died for good (it must be down): the schedule never restarts it. */
  loseForGood(id: NodeId): void {
    if (this.get(id).up || this.lost.has(id)) return;
    this.lost.add(id);
    this.note(`LOST ${id} for good`);
  }

  /** Gives a node lost for good back to the schedule (the liveness check needs it after all). */
  unlose(id: NodeId): void {
    this.lost.delete(id);
  }

  leaders(): SimNode[] {
    return this.up().filter((n) => n.status().role === 'leader');
  }

  /** The leader of the highest term among the running nodes, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const n of this.leaders()) {
      const t = n.status().term;
      if (t > bestTerm) {
        best = n;
        bestTerm = t;
      }
    }
    return best;
  }

  /** The configuration of the newest applied membership change anywhere. */
  members(): ConfState {
    return this.latestConf.conf;
  }

  isMember(id: NodeId): boolean {
    const c = this.latestConf.conf;
    return c.voters.includes(id) || c.learners.includes(id);
  }

  /** True once `id` appeared in some applied configuration. */
  wasMember(id: NodeId): boolean {
    return this.everMember.has(id);
  }

  isRetired(id: NodeId): boolean {
    return this.retired.has(id);
  }

  /** Of `nodes`, the one that crashed last. */
  lastCrashed(nodes: readonly SimNode[]): SimNode | null {
    let best: SimNode | null = null;
    for (const n of nodes) if (best === null || (this.crashedAt.get(n.id) ?? -1) > (this.crashedAt.get(best.id) ?? -1)) best = n;
    return best;
  }

  // ---- time ------------------------------------------------------------------------------

  /** Runs every event of the next tick's worth of time. */
  tick(): void {
    this.stats.ticks++;
    this.world.runUntil(this.world.now + this.tickMs);
    if (this.identity) for (const n of this.up()) this.identity.runDuties(n);
  }

  // ---- the network -----------------------------------------------------------------------

  private send(n: SimNode, msgs: readonly Message[]): void {
    this.net.now = this.world.now;
    for (const m of msgs) {
      this.safety.checkDurableBeforeSend(m, n.disk, (i) => logView(n.log()).term(i));
      if (m.type === 'AppendResp' && !m.reject) this.noteAcknowledged(n, m.index);
      if (this.identity) this.envelopes.set(m, this.identity.envelope(n, m.to));
      this.net.send(m, n.incarnation, this.nodes.get(m.to)?.incarnation ?? 0);
    }
  }

  /** One copy is due: deliver the next one (the network keeps them in order). */
  private pump(): void {
    this.net.now = this.world.now;
    const f = this.net.takeDue();
    if (f) this.deliver(f);
  }

  private deliver(f: InFlight): void {
    const m = f.msg;
    const dest = this.nodes.get(m.to);
    const src = this.nodes.get(m.from);
    // A message whose receiver or sender died since it was sent is lost half the time: it was
    // in the dead process's socket buffers or send queue, rather than already on the wire.
    const receiverDied = dest !== undefined && dest.incarnation !== f.receiverIncarnation;
    const senderDied = src !== undefined && (!src.up || src.incarnation !== f.senderIncarnation);
    const died = (receiverDied || senderDied) && this.rng.next() < 0.5;
    if (!dest || !dest.up || died) {
      this.trace.message(this.now, 'lost(down)', m);
      this.onDrop(f, 'partition'); // a connection to a dead process fails like a partition
      return;
    }
    dest.proc().dispatch(() => {
      const host = dest.host();
      if (this.opts.refuse?.(m, host) === true) {
        this.trace.message(this.now, 'refused', m);
        return;
      }
      if (this.identity) {
        // A message a hook rewrote has no envelope of its own: it carries the sender's current one.
        const env = this.envelopes.get(m) ?? (src !== undefined ? this.identity.envelope(src, m.to) : null);
        if (env !== null && this.identity.admit(dest, env, m) === null) {
          this.trace.message(this.now, 'refused(identity)', m);
          // The refused snapshot stream fails at the sender, which will send it again.
          if (m.type === 'InstallSnapshot') this.report(f, (h) => h.reportSnapshot(m.to, false));
          return;
        }
      }
      this.trace.message(this.now, 'deliver', m);
      host.noteMessageFrom(m.from);
      try {
        host.step(m);
      } catch (err) {
        // Only a heartbeat stops a follower so (step-follower.ts): its commit is the leader's count.
        const commit = m.type === 'Heartbeat' ? m.commit : null;
        if (!(err instanceof EntriesLostStop) || commit === null || !this.countsLostDataDir(dest, commit)) throw err;
        this.rebuildReplacement(dest, m.from, commit);
        return;
      }
      if (m.type === 'InstallSnapshot') this.report(f, (h) => h.reportSnapshot(m.to, true));
    });
  }

  private noteAcknowledged(n: SimNode, index: number): void {
    const incarnation = n.disk.identity?.incarnation ?? '';
    const prev = this.acknowledged.get(n.id);
    const before = prev !== undefined && prev.incarnation === incarnation ? prev.index : 0;
    this.acknowledged.set(n.id, { incarnation, index: Math.max(before, index) });
  }

  /**
   * Whether a heartbeat (of `commit`) that stopped `n` with ENTRIES_LOST counts a lost data dir's
   * acknowledgements: `n` runs on a wiped disk a replacement that the cluster has not recorded,
   * and this data dir never acknowledged as far as the heartbeat's commit (a node rebuilt on a
   * fresh disk is never excused: a heartbeat meant for its old data dir must be refused). Its own
   * acknowledgements were checked durable as they left (checkDurableBeforeSend), so only a
   * predecessor's can be beyond its log; the stop is the guard working (docs/architecture.md,
   * residual risks, identity seed 129581). With the identity checks planted out it stays a failure.
   */
  private countsLostDataDir(n: SimNode, commit: number): boolean {
    if (this.identity === null || this.opts.identityChecksOff === true) return false;
    this.isRecovering(); // forgets nodes the leader has recorded again since
    if (!this.wiped.has(n.disk) || !this.recovering.has(n.id)) return false;
    const own = this.acknowledged.get(n.id);
    const incarnation = n.disk.identity?.incarnation ?? '';
    const ownIndex = own !== undefined && own.incarnation === incarnation ? own.index : 0;
    return commit > ownIndex;
  }

  /** As an operator would, told by the stopped replacement to rebuild it. */
  private rebuildReplacement(n: SimNode, leader: NodeId, commit: number): void {
    this.stats.replacementsStopped++;
    this.note(`${n.id} stopped (ENTRIES_LOST): ${leader} counts acknowledgements of the data dir ${n.id} lost, up to ${commit}`);
    this.crash(n.id);
    this.lost.add(n.id);
    this.rebuilding.set(n.id, 'removing');
    this.note(`REBUILD ${n.id}: remove, then add back empty`);
  }

  private onDrop(f: InFlight, reason: DropReason): void {
    if (reason !== 'partition' || this.nodes.get(f.msg.to)?.up) this.trace.message(this.now, `drop(${reason})`, f.msg);
    if (reason === 'partition') this.report(f, (h) => h.reportUnreachable(f.msg.to));
    if (f.msg.type === 'InstallSnapshot') this.report(f, (h) => h.reportSnapshot(f.msg.to, false));
  }

  /** What a transport tells the sender (a peer unreachable, a snapshot streamed or not): an event of the sender's process. */
  private report(f: InFlight, fn: (h: RaftHost) => void): void {
    const sender = this.nodes.get(f.msg.from);
    if (!sender?.up || sender.incarnation !== f.senderIncarnation) return;
    const host = sender.host();
    sender.proc().post(0, () => fn(host));
  }

  // ---- faults ----------------------------------------------------------------------------

  /** Kills a process; some of its writes not yet durable are lost (`powerLoss`: all of them). */
  crash(id: NodeId, powerLoss = false): void {
    const n = this.get(id);
    if (!n.up) return;
    const pending = n.disk.unsynced();
    const applied = n.sm.appliedIndex;
    if (leansOnOwnCopy(n)) this.stats.leaderCrashesAheadOfDisk++;
    const keep = powerLoss ? 0 : pending > 0 && this.rng.next() < this.opts.loseUnsyncedRate ? this.rng.int(0, pending) : pending;
    const lost = n.crash(keep);
    this.crashedAt.set(id, this.now);
    this.safety.forgetNode(id);
    this.stats.crashes++;
    if (pending > 0) this.stats.crashesMidWrite++;
    if (lost > 0) this.stats.lostUnsynced++;
    const durable = n.disk.lastIndex();
    this.note(`CRASH ${id}${pending > 0 ? ` (${pending} writes not durable, ${lost} lost; applied ${applied}, durable log up to ${durable})` : ''}`);
  }

  restart(id: NodeId): void {
    const n = this.get(id);
    if (n.up || this.retired.has(id) || this.lost.has(id)) return;
    this.stats.restarts++;
    if (!this.startNode(n)) return;
    const st = n.status();
    this.note(`RESTART ${id} term=${st.term} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}`);
  }

  private startNode(n: SimNode): boolean {
    const started = n.start();
    if (started) this.identity?.attach(n);
    if (!started) {
      this.note(`${n.id} refused to start`);
      this.stats.refusedStarts++;
      // As an operator would: the member comes back only rebuilt (docs/operate.md).
      if (this.identity && !this.rebuilding.has(n.id)) {
        this.lost.add(n.id);
        this.rebuilding.set(n.id, 'removing');
        this.note(`REBUILD ${n.id}: remove, then add back empty`);
      }
    }
    this.checkStep();
    return started;
  }

  /** The lost-disk fault: the node's disk is gone (durable or not); it restarts on an empty one. */
  loseDisk(id: NodeId): void {
    const n = this.get(id);
    if (n.up) this.crash(id);
    n.disk.wipe();
    this.wiped.add(n.disk);
    this.recovering.add(id);
    this.stats.disksLost++;
    this.note(`DISK LOST ${id}`);
  }

  /** Some node (or `id`) the cluster refused is being rebuilt. */
  isRebuilding(id?: NodeId): boolean {
    return id === undefined ? this.rebuilding.size > 0 : this.rebuilding.has(id);
  }

  /** A member is on its way back from a lost disk (not recorded again yet, or being rebuilt). */
  isHealing(): boolean {
    return this.isRecovering() || this.isRebuilding();
  }

  /** A node lost its disk and the cluster's leader has not recorded its new data dir yet. */
  isRecovering(): boolean {
    const l = this.leader();
    for (const id of [...this.recovering]) {
      const n = this.nodes.get(id);
      const mine = n?.up ? n.disk.identity?.incarnation : undefined;
      if (l !== null && mine !== undefined && l.sm.members.view.get(id)?.incarnation === mine) this.recovering.delete(id);
    }
    return this.recovering.size > 0;
  }

  /**
   * A member running another data dir than the one the cluster recorded for it (it lost its disk
   * and started on a new one while no peer could answer) is refused by every peer; the operator
   * sees the peer.refused events, stops it and rebuilds it.
   */
  private stopZombies(): void {
    const l = this.leader();
    if (l === null) return;
    const records = l.sm.members.view;
    for (const n of this.up()) {
      if (n === l || this.rebuilding.has(n.id)) continue;
      const recorded = records.get(n.id)?.incarnation ?? '';
      const mine = n.disk.identity?.incarnation ?? '';
      if (recorded === '' || recorded === mine) continue;
      this.note(`ZOMBIE ${n.id}: runs ${mine}, the cluster recorded ${recorded}`);
      this.crash(n.id);
      this.lost.add(n.id);
      this.rebuilding.set(n.id, 'removing');
      this.note(`REBUILD ${n.id}: remove, then add back empty`);
    }
  }

  /**
   * Carries rebuilds on, as an operator would: the removal committed, the member added back as
   * a learner, its process started on an empty disk (the start-up decision joins it); done once
   * the cluster applied the addition. The schedule promotes it like any learner.
   */
  private stepRebuilds(): void {
    for (const [id, stage] of [...this.rebuilding]) {
      const l = this.leader();
      if (l === null) return;
      switch (stage) {
        case 'removing':
          if (this.isMember(id)) this.confChange(l, { type: 'remove', node: id, context: '' });
          else this.rebuilding.set(id, 'adding');
          break;
        case 'adding': {
          if (!this.confChange(l, { type: 'add-learner', node: id, context: '' })) break;
          this.rebuilding.set(id, 'joining');
          this.retired.delete(id);
          this.lost.delete(id);
          this.stats.rebuilds++;
          // Restarted meanwhile ("needed after all"): the operator stops it before wiping it.
          if (this.nodes.get(id)?.up === true) this.crash(id);
          const fresh = new SimNode(id, this.env);
          this.nodes.set(id, fresh);
          this.note(`REBUILD ${id}: added back as a learner, starting empty`);
          this.startNode(fresh);
          break;
        }
        case 'joining':
          // The addition may have been lost with a leader: propose it again until it applies.
          if (this.isMember(id)) this.rebuilding.delete(id);
          else this.confChange(l, { type: 'add-learner', node: id, context: '' });
          break;
      }
    }
  }

  /** Stops a removed node for good. */
  retire(id: NodeId): void {
    const n = this.get(id);
    if (n.up) n.crash(n.disk.unsynced());
    this.safety.forgetNode(id);
    this.retired.add(id);
    this.note(`RETIRE ${id}`);
  }

  /** A stalled process neither runs timers nor reads messages for `ms`; then it catches up. */
  stall(id: NodeId, ms: number): void {
    const proc = this.procs.get(id);
    if (!this.get(id).up || proc === undefined) return;
    proc.stall();
    this.world.at(this.now + ms, () => proc.resume());
  }

  /** A stalled process runs again now: its expired timers first, then what waited for it. */
  resume(id: NodeId): void {
    this.procs.get(id)?.resume();
  }

  isStalled(id: NodeId): boolean {
    return this.get(id).up && this.procs.get(id)?.isStalled === true;
  }

  /** Removed nodes that know they were removed shut down; removed nodes that are down stay down. */
  housekeeping(): void {
    if (this.identity) {
      this.stopZombies();
      this.stepRebuilds();
    }
    for (const id of this.everMember) {
      if (this.isMember(id) || this.retired.has(id) || this.rebuilding.has(id)) continue;
      const n = this.get(id);
      const conf = n.up ? n.status().conf : null;
      const knows = conf !== null && !conf.voters.includes(id) && !conf.learners.includes(id);
      if (!n.up || (knows && this.rng.next() < 0.3)) this.retire(id);
    }
  }

  // ---- clients ---------------------------------------------------------------------------

  private get clientTimeoutMs(): number {
    return CLIENT_TIMEOUT_ELECTIONS * this.opts.node.electionTimeoutMs;
  }

  /** A client writes `key` through `via` (default: a random current leader). Returns the write's id if a leader took it. */
  propose(key: string, via?: SimNode): string | null {
    const leaders = via ? [via] : this.leaders();
    if (leaders.length === 0) {
      this.note(`propose ${key}: no leader`);
      return null;
    }
    const l = leaders[this.rng.int(0, leaders.length)]!;
    const cmd = this.clients.newWrite(key);
    this.stats.proposals++;
    const ok = this.attempt(`propose ${cmd.id} ${key}=${cmd.value} via ${l.id}`, () => {
      const at = l.host().startProposal(encodePut(cmd), this.clientTimeoutMs, {
        resolve: () => {
          const ack = this.clients.onAck(l.id, cmd, at, this.safety);
          this.stats.acked++;
          this.note(`ACK ${ack.id} ${ack.key} at ${ack.index}/${ack.term} by ${l.id}`);
        },
        reject: () => undefined,
      });
      return `at ${at.index}/${at.term}`;
    });
    return ok ? cmd.id : null;
  }

  /** A client reads `key` through node `id` with ReadIndex. */
  read(id: NodeId, key: string): void {
    const n = this.get(id);
    if (!n.up) return;
    const read = this.clients.issueRead(id, key);
    this.stats.reads++;
    const ok = this.attempt(`read ${read} ${key} via ${id}`, () => {
      n.host().startRead(this.clientTimeoutMs, {
        resolve: (index) => {
          this.clients.onReadServed(id, read, index, (k) => n.sm.get(k));
          this.stats.readsServed = this.clients.readsServed;
        },
        reject: () => this.clients.abandonRead(read),
      });
      return '';
    });
    if (!ok) this.clients.abandonRead(read);
  }

  // ---- administration --------------------------------------------------------------------

  transfer(to: NodeId): void {
    const l = this.leader();
    if (!l) return;
    this.stats.transfers++;
    this.attempt(`transfer ${l.id} -> ${to}`, () => {
      l.host().transferLeadership(to);
      this.transferTarget = to;
      return '';
    });
  }

  /** Proposes adding a fresh node as a learner and starts its (empty) process. */
  addLearner(): NodeId | null {
    const l = this.leader();
    if (!l) return null;
    const id = `n${this.nextNodeNumber}`;
    const ok = this.confChange(l, { type: 'add-learner', node: id, context: '' });
    if (!ok) return null;
    this.nextNodeNumber++;
    const n = new SimNode(id, this.env);
    this.nodes.set(id, n);
    this.startNode(n);
    return id;
  }

  promote(id: NodeId): void {
    const l = this.leader();
    if (!l) return;
    // As the promoter and `member promote` do: not before the cluster has recorded the
    // learner's data dir, which until then refuses to vote (acceptance rule 5).
    if (this.identity && (l.sm.members.view.get(id)?.incarnation ?? '') === '') return;
    this.confChange(l, { type: 'promote', node: id, context: '' });
  }

  remove(id: NodeId): void {
    const l = this.leader();
    if (l) this.confChange(l, { type: 'remove', node: id, context: '' });
  }

  campaign(id: NodeId): void {
    const n = this.get(id);
    if (!n.up) return;
    this.attempt(`campaign ${id}`, () => {
      n.host().campaign();
      return '';
    });
  }

  private confChange(l: SimNode, c: ConfEntry): boolean {
    return this.attempt(`conf ${c.type} ${c.type === 'bootstrap' ? '' : c.node} via ${l.id}`, () => {
      const at = l.host().startConfChange(c, this.clientTimeoutMs, { resolve: () => undefined, reject: () => undefined });
      return `at ${at.index}/${at.term}`;
    });
  }

  /** Runs a request on a node; a refusal (RaftError, HostError) is traced, anything else is a bug. */
  private attempt(what: string, fn: () => string): boolean {
    let ok = true;
    try {
      const detail = fn();
      this.note(`${what}${detail ? ` ${detail}` : ''}`);
    } catch (e) {
      if (!(e instanceof RaftError) && !(e instanceof HostError)) throw e;
      this.note(`${what}: refused ${e.code}`);
      ok = false;
    }
    this.checkStep();
    return ok;
  }

  /**
   * Arms a crash at the worst moment for rule 2 of ready.ts: the first time within `forMs`
   * that a leader's commit index leans on its own copy of entries its disk does not hold yet
   * (leansOnOwnCopy), it loses power a moment later if the write is still in flight (and, if
   * `restart`, starts again at once). A driver that acts on such a commit before its own
   * write completes loses writes it acknowledged.
   */
  armCrashAheadOfDisk(forMs: number, restart: boolean): void {
    this.armed = { until: this.now + forMs, restart };
    this.note(`ARM crash of a leader ahead of its disk (${forMs} ms${restart ? ', restart at once' : ''})`);
  }

  /**
   * Arms a crash of a leader in the middle of a membership change: the first time within
   * `forMs` that a change of voters it applied has been applied by another member too, while a
   * voter holds the entry without knowing it is committed, it crashes at that instant; if
   * `forGood`, its machine is lost and never restarted. That is where a voter still on the old
   * configuration must vote for a node only the new one counts (campaign_learner_must_vote.txt).
   */
  armCrashMidConfChange(forMs: number, forGood: boolean): void {
    this.armedConf = { until: this.now + forMs, forGood };
    this.note(`ARM crash of a leader mid membership change (${forMs} ms${forGood ? ', lost for good' : ''})`);
  }

  private fireMidConfChange(): void {
    const armed = this.armedConf;
    if (armed === null) return;
    if (this.now > armed.until) {
      this.armedConf = null;
      return;
    }
    for (const l of this.leaders()) {
      const at = this.confAppliedAt.get(l.id);
      if (at === undefined || at.incarnation !== l.incarnation) continue;
      const conf = l.status().conf;
      const voters = conf.voters.join(',');
      const term = logView(l.log()).term(at.index);
      if (term === null) continue;
      const others = this.up().filter((n) => n !== l);
      // Members that applied the change, and voters that hold its entry without knowing it is
      // committed (a change of who votes only: a new learner changes no quorum).
      const newer = others.filter((n) => n.status().commit >= at.index && n.status().conf.voters.join(',') === voters);
      const older = others.filter((n) => {
        const st = n.status();
        const holds = n.log().lastIndex() >= at.index && logView(n.log()).term(at.index) === term;
        return holds && st.commit < at.index && st.conf.voters.includes(n.id) && st.conf.voters.join(',') !== voters;
      });
      if (newer.length === 0 || older.length === 0) continue;
      this.armedConf = null;
      this.stats.crashesMidConfChange++;
      this.note(`${l.id} crashes mid membership change: ${newer.map((n) => n.id).join(',')} on voters ${voters}, ${older.map((n) => n.id).join(',')} not yet`);
      this.crash(l.id);
      // Armed before another member lost its disk, it would be a second failure now: the
      // schedule loses no machine for good while a member is on its way back (165193).
      if (armed.forGood && !this.isHealing()) this.loseForGood(l.id);
      return;
    }
  }

  // ---- invariants ------------------------------------------------------------------------

  /** The per-event checks: election safety, commit monotonicity, leader completeness, driver agreement. */
  checkStep(): void {
    checkNodes(this.safety, this.nodes.values());
    this.fireMidConfChange();
    const armed = this.armed;
    if (armed === null) return;
    if (this.now > armed.until) {
      this.armed = null;
      return;
    }
    const ahead = this.leaders().find((n) => leansOnOwnCopy(n));
    if (ahead === undefined) return;
    this.armed = null;
    // A moment later (whatever the driver does with the commit happens in between), if its
    // write has still not completed, its rack loses power: it and every node still writing
    // lose what was not durable yet.
    const incarnation = ahead.incarnation;
    this.world.at(this.now + this.rng.next() * this.tickMs, () => {
      if (!ahead.up || ahead.incarnation !== incarnation || ahead.disk.unsynced() === 0) return;
      const victims = this.up().filter((n) => n === ahead || n.disk.unsynced() > 0);
      this.note(`POWER CUT ${victims.map((n) => n.id).join(',')}`);
      for (const n of victims) this.crash(n.id, true);
      if (armed.restart) for (const n of victims) this.restart(n.id);
    });
  }

  // ---- NodeObserver ----------------------------------------------------------------------

  softState(node: SimNode, ss: SoftState, term: number): void {
    this.identity?.onRole(node, ss.role === 'leader');
    const st = node.status();
    this.note(`${node.id} is ${ss.role} term=${term} leader=${ss.leader ?? '-'} last=${st.lastIndex} commit=${st.commit}`);
    if (ss.role === 'leader') {
      this.stats.leaders++;
      if (node.id === this.transferTarget) {
        this.stats.transfersCompleted++;
        this.transferTarget = null;
      }
    }
  }

  wrote(node: SimNode, update: StorageUpdate, log: MemoryStorage): void {
    if (update.entries.length > 0) this.safety.observeLogEntries(node.id, update.entries, logView(log));
  }

  snapshotTaken(node: SimNode, index: number): void {
    this.stats.snapshotsTaken++;
    this.note(`${node.id} snapshot at ${index}`);
  }

  applied(node: SimNode, e: Entry, identity: string, digest: number): void {
    this.safety.observeApply(node.id, e.index, identity, digest);
    if (node.up) this.identity?.onApplied(node);
  }

  restored(node: SimNode, index: number, digest: number): void {
    this.safety.observeRestore(node.id, index, digest);
    if (node.up) this.identity?.onApplied(node);
  }

  installed(_node: SimNode, meta: SnapshotMeta): void {
    this.stats.snapshotsInstalled++;
    this.noteConf(meta.index, meta.conf);
  }

  confApplied(node: SimNode, index: number, change: ConfEntry, conf: ConfState): void {
    this.confAppliedAt.set(node.id, { index, incarnation: node.incarnation });
    if (!this.confIndexesSeen.has(index)) {
      this.confIndexesSeen.add(index);
      if (change.type === 'add-learner') this.stats.learnersAdded++;
      if (change.type === 'promote') this.stats.promotions++;
      if (change.type === 'promote' && conf.voters.length === 3) this.stats.promotionsFromTwoVoters++;
      if (change.type === 'remove') this.stats.removals++;
      // The core steps a leader down as it applies its own removal; the host still says leader.
      if (change.type === 'remove' && change.node === node.id && node.host().softState().role === 'leader') this.stats.leaderSelfRemovals++;
      this.note(`conf at ${index} -> ${confText(conf)}`);
    }
    this.noteConf(index, conf);
  }

  private noteConf(index: number, conf: ConfState): void {
    if (index <= this.latestConf.index) return;
    this.latestConf = { index, conf };
    for (const id of [...conf.voters, ...conf.learners]) this.everMember.add(id);
  }

  private nodeRng(n: SimNode): Rng {
    let h = mix(this.opts.seed, n.incarnation + 1);
    for (let i = 0; i < n.id.length; i++) h = mix(h, n.id.charCodeAt(i));
    return seededRng(h);
  }
}
