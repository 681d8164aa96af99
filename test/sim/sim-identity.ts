/**
 * The identity layer in the simulation, as production runs it: each process gets the
 * production NodeIdentity (src/node/node-identity.ts) over its state machine's members records,
 * every delivery passes its acceptance check (src/identity/acceptance.ts) with the envelope the
 * sender stamped, leaders carry out their identity duties, and a process starts through the
 * production start-up decision (src/identity/startup-decision.ts), asking the peers it can
 * reach. What differs: the identity record is written at once (the sim's disk is synchronous
 * for it), and the start-up question is answered instantly by every reachable peer.
 */
import pino from 'pino';
import {
  decideStartup,
  identityFor,
  initialNodes,
  seededIdentitySource,
  type IdentitySource,
  type InitialNodes,
  type PeerAnswer,
  type PeerEnvelope,
} from '../../src/identity/index.js';
import { NodeIdentity } from '../../src/node/node-identity.js';
import { simAddress } from './sim-members.js';
import { bootstrapState, EMPTY_HARD_STATE, type Message, type NodeId } from '../../src/raft/index.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import type { PersistedState } from '../../src/storage/level-raft-storage.js';
import type { Rng } from '../../src/util/rng.js';
import type { SimNode } from './sim-node.js';

const CLUSTER_NAME = 'sim';
const SILENT = pino({ level: 'silent' });

/** What the identity layer needs from the simulated world around it. */
export interface IdentityWorld {
  now(): number;
  note(text: string): void;
  node(id: NodeId): SimNode | undefined;
  nodes(): Iterable<SimNode>;
  /** Both directions open: the start-up question and its answer get through. */
  connected(a: NodeId, b: NodeId): boolean;
  /** The initial voters: the cluster file's nodes, which a bootstrap writes. */
  readonly initialVoters: readonly NodeId[];
  /** How a start was decided, and a message refused: for the statistics. */
  started(id: NodeId, action: StartKind): void;
  refused(): void;
  /** Rule 7 kept a vote request from a voter as new as the candidate (cluster.ts, creationOverVotes). */
  creationOverVote(): void;
  /** Rule 6 withheld a campaign of a node whose log goes beyond the first entry (cluster.ts, campaignsWithheld). */
  campaignWithheld(): void;
  /** `n` messages of a crashed process were set aside behind its restart's term. */
  setAside(n: number): void;
  /** `n` processes were proven second processes of a member's data dir. */
  proven(n: number): void;
  readonly proposalTimeoutMs: number;
  readonly electionTimeoutMs: number;
}

interface Runtime {
  /** The SimNode process counter this runtime belongs to. */
  readonly process: number;
  readonly identity: NodeIdentity;
}

export type StartKind = 'bootstrap' | 'join' | 'start' | 'refuse';

export class SimIdentity {
  private readonly runtimes = new Map<NodeId, Runtime>();
  private readonly newId: IdentitySource;

  constructor(
    private readonly world: IdentityWorld,
    rng: Rng,
    /** The checks planted out: an empty data dir bootstraps without asking, every message is let in. */
    private readonly checksOff = false,
  ) {
    this.newId = seededIdentitySource(rng);
  }

  /** Every node's cluster file: the initial voters, at the placeholder addresses their records get. */
  private fileNodes(): InitialNodes {
    return initialNodes(this.world.initialVoters.map((id) => ({ id, address: simAddress(id) })));
  }

  /** The start-up decision for a process about to start on `n`'s disk. */
  decideStart(n: SimNode, onDisk: PersistedState): PersistedState | null {
    const stored = n.disk.identity;
    const empty = stored === null && onDisk.snapshot === null && onDisk.entries.length === 0 && onDisk.hardState.term === 0;
    const lastIndex = onDisk.entries.at(-1)?.index ?? onDisk.snapshot?.meta.index ?? 0;
    const ask = { incarnation: stored?.incarnation ?? '', clusterId: stored?.clusterId ?? null, lastIndex, joining: false, nodes: this.fileNodes() };
    const answers: PeerAnswer[] = [];
    const peers = [...this.world.nodes()].filter((p) => p.id !== n.id);
    for (const p of peers) {
      const rt = p.up ? this.runtime(p) : null;
      if (rt !== null && this.world.connected(n.id, p.id) && !(this.checksOff && empty)) answers.push({ peer: p.id, reply: rt.identity.hello(n.id, ask) });
      else answers.push({ peer: p.id, error: 'UNAVAILABLE', status: 'UNAVAILABLE', details: '' });
    }
    const disk = empty ? ({ kind: 'empty' } as const) : ({ kind: 'present', identity: stored, lastIndex } as const);
    const decision = decideStartup({ memberId: n.id, join: false, dataDir: `sim:${n.id}`, clusterName: CLUSTER_NAME, configFile: 'sim.yaml', clusterSize: peers.length + 1, nodes: this.fileNodes(), selfAddress: `sim:${n.id}`, disk, answers });
    this.world.started(n.id, decision.action);
    if (decision.action === 'refuse') {
      this.world.note(`${n.id} start-up: refuse ${decision.code}`);
      return null;
    }
    const identity = identityFor(decision, n.id, disk, this.newId);
    n.disk.identity = identity;
    this.world.note(`${n.id} start-up: ${decision.action} (${identity?.incarnation ?? '-'}): ${decision.reason}`);
    switch (decision.action) {
      case 'bootstrap': {
        const b = bootstrapState(this.world.initialVoters, '');
        return { hardState: b.hardState, entries: [b.entry], snapshot: null };
      }
      case 'join':
        return { hardState: EMPTY_HARD_STATE, entries: [], snapshot: null };
      case 'start':
        return onDisk;
    }
  }

  /** A process started on `n`: its NodeIdentity, over its state machine and host. */
  attach(n: SimNode): void {
    const stored = n.disk.identity;
    if (stored === null) throw new Error(`sim: ${n.id} started without an identity record`);
    const sm = n.sm;
    const host = n.host();
    const identity = new NodeIdentity({
      self: n.id,
      clusterName: CLUSTER_NAME,
      configured: (id) => this.world.node(id) !== undefined,
      fileNodes: this.fileNodes(),
      identity: stored,
      // One per process start, as the controller draws one (16 hex digits); no draw from the seeded Rng.
      boot: bootOf(n),
      processHoldMs: 2 * this.world.electionTimeoutMs,
      persist: (next) => {
        n.disk.identity = next;
      },
      logger: SILENT,
      onRefusal: (direction, peer, code, details, report) => {
        if (report) this.world.note(`${n.id} ${direction === 'in' ? `refused ${peer}` : `refused by ${peer}`}: ${code ?? ''} ${details}`);
      },
      reportStatus: async () => false,
      onFatal: (err) => {
        throw err;
      },
      now: () => this.world.now(),
    });
    identity.bind({
      members: () => sm.members.view,
      raft: () => {
        const st = host.status();
        return { term: st.term, lastIndex: st.lastIndex };
      },
      appliedIndex: () => sm.appliedIndex,
      vouchedCommit: () => host.vouchedCommit(),
      onlyTermBeyondBootstrap: () => host.onlyTermBeyondBootstrap(),
    });
    this.runtimes.set(n.id, { process: n.incarnation, identity });
  }

  /** What `from` stamps on a message to `to`. */
  envelope(from: SimNode, to: NodeId): PeerEnvelope {
    return { clusterName: CLUSTER_NAME, from: from.id, ...this.runtime(from)?.identity.envelope(to) ?? { clusterId: '', incarnation: '', toIncarnation: '', creation: '', boot: '' } };
  }

  /** The acceptance check at `dest`: the message to step, or null when refused or dropped. */
  admit(dest: SimNode, env: PeerEnvelope, m: Message): Message | null {
    const rt = this.runtime(dest);
    if (rt === null) return m;
    if (this.checksOff) {
      rt.identity.noteHeard(env);
      return m;
    }
    const setAsideBefore = rt.identity.lateMessagesSetAside;
    const provenBefore = rt.identity.copiesProven;
    const verdict = rt.identity.judgeBatch(env, [m]);
    if (rt.identity.copiesProven > provenBefore) {
      this.world.proven(rt.identity.copiesProven - provenBefore);
      // The simulation runs no copies: the process proven is a crashed one, or the restart.
      const sender = this.world.node(env.from);
      const running = sender?.up === true && env.boot === bootOf(sender);
      this.world.note(
        `${dest.id} proved a process of ${env.from} a second one (DUPLICATE_PROCESS), on ${env.from}'s ${m.type} at term ${m.term}` +
          (running ? ', sent by its running process: a crashed one proven' : ', sent by a crashed process: its restart proven'),
      );
    }
    if (rt.identity.lateMessagesSetAside > setAsideBefore) {
      this.world.setAside(rt.identity.lateMessagesSetAside - setAsideBefore);
      this.world.note(`${dest.id} set aside ${env.from}'s ${m.type} at term ${m.term}: a crashed process's, behind its restart's term`);
    }
    if (!verdict.accept) {
      this.world.refused();
      rt.identity.onRefused(env.from, verdict.refusal);
      return null;
    }
    // Rule 7 decided only where the voter's log is no further than the candidate's first entry:
    // beyond it, Raft's own up-to-date check refuses such a candidate anyway.
    if (verdict.dropped.some((d) => d.rule === 7) && dest.host().status().lastIndex <= 1) {
      this.world.creationOverVote();
      const last = m.type === 'PreVote' || m.type === 'Vote' ? ` (last ${m.lastLogIndex}/${m.lastLogTerm})` : '';
      this.world.note(`${dest.id} rule 7: refused ${env.from}'s ${m.type}${last}, which Raft would grant: it knows the cluster id`);
    }
    rt.identity.noteHeard(env);
    return verdict.deliver[0] ?? null;
  }

  onRole(n: SimNode, leading: boolean): void {
    this.runtime(n)?.identity.onRole(leading);
  }

  /** Whether `n` may elect itself now (NodeIdentity.mayCampaign); a process without a runtime: yes. */
  mayCampaign(n: SimNode): boolean {
    const rt = this.runtime(n);
    if (rt === null || this.checksOff) return true;
    const refused = rt.identity.campaignRefusal();
    if (refused?.rule === 6 && n.host().position().lastIndex > 1) {
      this.world.campaignWithheld();
      this.world.note(`${n.id} rule 6: campaigns no more: ${refused.why}`);
    }
    return refused === null;
  }

  onApplied(n: SimNode): void {
    this.runtime(n)?.identity.onApplied();
  }

  /** A leader proposes what its identity duties say (the cluster id, incarnation records). */
  runDuties(n: SimNode): void {
    const rt = this.runtime(n);
    if (rt === null || !n.up) return;
    for (const d of rt.identity.duties()) {
      const data =
        d.kind === 'establish'
          ? encodeCommand({ kind: 'members', op: 'establish', clusterId: this.newId(), incarnations: d.incarnations })
          : encodeCommand({ kind: 'members', op: 'recordIncarnation', id: d.id, incarnation: d.incarnation });
      const settle = rt.identity.begin(d);
      try {
        const at = n.host().startProposal(data, this.world.proposalTimeoutMs, { resolve: settle, reject: settle });
        this.world.note(`${n.id} proposes ${d.kind === 'establish' ? 'the cluster id' : `the incarnation of ${d.id}`} at ${at.index}/${at.term}`);
      } catch (err) {
        settle(err);
      }
    }
  }

  /** The cluster id as the node with the highest applied index knows it; null before any. */
  clusterId(): string | null {
    let best: { applied: number; id: string | null } = { applied: -1, id: null };
    for (const n of this.world.nodes()) {
      if (!n.up) continue;
      if (n.sm.appliedIndex > best.applied) best = { applied: n.sm.appliedIndex, id: n.sm.members.view.clusterId };
    }
    return best.id;
  }

  /** The runtime of `n`'s current process; null for a process started before identities. */
  private runtime(n: SimNode): Runtime | null {
    const rt = this.runtimes.get(n.id);
    return rt !== undefined && rt.process === n.incarnation && n.up ? rt : null;
  }
}

/** The boot id a simulated process stamps: its process counter. */
function bootOf(n: SimNode): string {
  return n.incarnation.toString(16).padStart(16, '0');
}
