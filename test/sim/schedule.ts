/**
 * The randomized schedule: what happens at each step of a run. Each action is chosen from the
 * seeded rng given the cluster's current state (whom to crash, which learner to promote), so a
 * seed always produces the same run. Weights favour the clock and client traffic; faults and
 * membership changes are rarer but happen in most runs.
 */
import type { NodeId } from '../../src/raft/index.js';
import type { Rng } from '../../src/util/rng.js';
import type { Cluster } from './cluster.js';
import type { SimNode } from './sim-node.js';
import type { FaultSettings } from './network.js';
import { confText } from './node-checks.js';

export type Action =
  | { readonly kind: 'tick'; readonly ticks: number }
  | { readonly kind: 'propose'; readonly key: string }
  | { readonly kind: 'read'; readonly node: NodeId; readonly key: string }
  | { readonly kind: 'crash'; readonly node: NodeId; readonly restart?: boolean }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'cut'; readonly a: NodeId; readonly b: NodeId }
  | { readonly kind: 'isolate'; readonly node: NodeId }
  | { readonly kind: 'split'; readonly side: readonly NodeId[] }
  | { readonly kind: 'slow'; readonly node: NodeId; readonly ticks: number }
  | { readonly kind: 'arm-crash'; readonly forTicks: number; readonly restart: boolean }
  | { readonly kind: 'arm-crash-conf'; readonly forTicks: number; readonly forGood: boolean }
  | { readonly kind: 'heal' }
  | { readonly kind: 'faults'; readonly faults: FaultSettings }
  | { readonly kind: 'transfer'; readonly to: NodeId }
  | { readonly kind: 'add-learner' }
  | { readonly kind: 'promote'; readonly node: NodeId; readonly thenCrash?: { readonly forGood: boolean } }
  | { readonly kind: 'remove'; readonly node: NodeId }
  | { readonly kind: 'campaign'; readonly node: NodeId }
  | { readonly kind: 'lose-disk'; readonly node: NodeId; readonly restart: boolean };

export interface ScheduleLimits {
  /** No more than this many nodes are ever created (initial ones included). */
  readonly maxNodes: number;
  /** A voter is only removed while more than this many voters remain. */
  readonly minVoters: number;
}

const KEYS = ['a', 'b', 'c', 'd', 'e'];

/** Picks the next action for the cluster as it is now. */
export function chooseAction(rng: Rng, c: Cluster, limits: ScheduleLimits): Action {
  const up = c.up();
  const upIds = up.map((n) => n.id);
  const down = c.down().map((n) => n.id);
  const members = c.members();
  const leader = c.leader();
  const choices: Array<[number, () => Action | null]> = [
    [50, () => ({ kind: 'tick', ticks: rng.int(1, 4) })],
    [18, () => ({ kind: 'propose', key: pick(rng, KEYS) })],
    [8, () => {
      // Half the reads go to a leader, stale ones included: where a missing quorum check would show.
      const leaders = c.leaders().map((n) => n.id);
      const via = leaders.length > 0 && rng.next() < 0.5 ? leaders : upIds;
      return via.length > 0 ? { kind: 'read', node: pick(rng, via), key: pick(rng, KEYS) } : null;
    }],
    [2.5, () => (upIds.length > 0 ? { kind: 'crash', node: leader && rng.next() < 0.3 ? leader.id : pick(rng, upIds) } : null)],
    [1.5, () => {
      // A crash while a write is in flight: between a message and the write it depends on.
      const writing = up.filter((n) => n.disk.unsynced() > 0).map((n) => n.id);
      return writing.length > 0 ? { kind: 'crash', node: pick(rng, writing) } : null;
    }],
    // The next leader whose commit index (which counts its own entries at once) passes what its
    // disk holds crashes at that instant: a driver that acted on that commit before its own
    // write was durable acknowledged writes this crash can lose (ready.ts, rule 2). Half the
    // time the process is restarted at once (kill -9 under a supervisor) and races to lead.
    [3, () => ({ kind: 'arm-crash', forTicks: rng.int(5, 41), restart: rng.next() < 0.5 })],
    // The leader dies (half the time for good) just as a membership change it committed has
    // reached some members and not others.
    [members.learners.length > 0 ? 3 : 0.5, () => ({ kind: 'arm-crash-conf', forTicks: rng.int(10, 61), forGood: !c.isHealing() && rng.next() < 0.5 })],
    [1.5, () => {
      // A slow node or link: its followers fall behind, and in-flight entries reach them late.
      const ids = [...c.nodes.keys()];
      return { kind: 'slow', node: pick(rng, ids), ticks: rng.int(2, 11) };
    }],
    [down.length > 0 ? 6 : 0, () => ({ kind: 'restart', node: pick(rng, down) })],
    [1.5, () => {
      const ids = [...c.nodes.keys()];
      const a = pick(rng, ids);
      const b = pick(rng, ids);
      return a === b ? null : { kind: 'cut', a, b };
    }],
    [1.5, () => (upIds.length > 0 ? { kind: 'isolate', node: leader && rng.next() < 0.5 ? leader.id : pick(rng, upIds) } : null)],
    [1.5, () => {
      // Two random groups; often the leader with a minority, the case where stale reads would hide.
      const ids = [...c.nodes.keys()];
      const side = ids.filter(() => rng.next() < 0.4);
      if (leader && rng.next() < 0.5 && !side.includes(leader.id)) side.push(leader.id);
      return side.length === 0 || side.length === ids.length ? null : { kind: 'split', side };
    }],
    [c.net.partitioned() ? 5 : 0, () => ({ kind: 'heal' })],
    [1.5, () => ({ kind: 'faults', faults: randomFaults(rng) })],
    [1.5, () => {
      const targets = members.voters.filter((v) => v !== leader?.id);
      return leader && targets.length > 0 ? { kind: 'transfer', to: pick(rng, targets) } : null;
    }],
    // Two voters grow to three more eagerly: promoting a learner into a two-voter configuration
    // is the change that needs the vote rule of raft.ts (campaign_learner_must_vote.txt).
    [c.nodes.size < limits.maxNodes ? (members.voters.length <= 2 ? 4 : 1.2) : 0, () => ({ kind: 'add-learner' })],
    [members.learners.length > 0 ? (members.voters.length <= 2 ? 8 : 3) : 0, () => {
      const node = pick(rng, members.learners);
      // From two voters to three, the leader's machine dies for good if the change is caught
      // half-way (some members applied it, a voter not): only the new configuration's quorum
      // can elect a successor.
      const thenCrash = members.voters.length === 2 && !c.isHealing() ? { forGood: true } : undefined;
      return thenCrash ? { kind: 'promote', node, thenCrash } : { kind: 'promote', node };
    }],
    [1, () => {
      // While a member is on its way back from a lost disk its vote is gone: no other voter is removed.
      const removable = [
        ...members.learners,
        ...(members.voters.length > limits.minVoters && !c.isHealing() ? members.voters : []),
      ];
      if (removable.length === 0) return null;
      const self = leader && removable.includes(leader.id) && rng.next() < 0.4;
      return { kind: 'remove', node: self ? leader.id : pick(rng, removable) };
    }],
    [0.5, () => (members.voters.length > 0 ? { kind: 'campaign', node: pick(rng, members.voters) } : null)],
    // A member's disk is lost (with the identity layer on): it comes back empty, through the
    // start-up decision. One at a time, with three voters at least and none lost for good, once
    // the cluster has its id (before, nothing tells a new cluster from a lost member's data).
    [losingDisksAllowed(c) ? 2 : 0, () => {
      const ids = [...members.voters, ...members.learners].filter((id) => !c.isRetired(id));
      return ids.length > 0 ? { kind: 'lose-disk', node: pick(rng, ids), restart: rng.next() < 0.5 } : null;
    }],
  ];
  const total = choices.reduce((s, [w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [w, make] of choices) {
    x -= w;
    if (x < 0) return make() ?? { kind: 'tick', ticks: 1 };
  }
  return { kind: 'tick', ticks: 1 };
}

export function perform(c: Cluster, a: Action): void {
  switch (a.kind) {
    case 'tick':
      for (let i = 0; i < a.ticks; i++) c.tick();
      return;
    case 'propose':
      c.propose(a.key);
      return;
    case 'read':
      c.read(a.node, a.key);
      return;
    case 'crash':
      c.crash(a.node);
      if (a.restart === true) c.restart(a.node);
      return;
    case 'restart':
      c.restart(a.node);
      return;
    case 'cut':
      c.note(`CUT ${a.a} | ${a.b}`);
      c.stats.partitions++;
      c.net.cut(a.a, a.b);
      return;
    case 'isolate':
      c.note(`ISOLATE ${a.node}`);
      c.stats.partitions++;
      c.net.isolate(a.node);
      return;
    case 'split': {
      c.note(`SPLIT ${a.side.join(',')} | rest`);
      c.stats.partitions++;
      for (const x of a.side) for (const y of c.nodes.keys()) if (!a.side.includes(y)) c.net.cut(x, y);
      return;
    }
    case 'arm-crash-conf':
      c.armCrashMidConfChange(a.forTicks * c.tickMs, a.forGood);
      return;
    case 'arm-crash':
      c.armCrashAheadOfDisk(a.forTicks * c.tickMs, a.restart);
      return;
    case 'slow':
      c.note(`SLOW ${a.node} +${a.ticks} ticks`);
      c.net.slow(a.node, a.ticks);
      return;
    case 'heal':
      c.note('HEAL');
      c.net.heal();
      return;
    case 'faults':
      c.note(`FAULTS delay=${a.faults.minDelay}..${a.faults.maxDelay} drop=${a.faults.dropRate} dup=${a.faults.dupRate}`);
      c.net.setFaults(a.faults);
      return;
    case 'transfer':
      c.transfer(a.to);
      return;
    case 'add-learner':
      c.addLearner();
      return;
    case 'promote':
      c.promote(a.node);
      if (a.thenCrash) c.armCrashMidConfChange(20 * c.tickMs, a.thenCrash.forGood);
      return;
    case 'remove':
      c.remove(a.node);
      return;
    case 'campaign':
      c.campaign(a.node);
      return;
    case 'lose-disk':
      c.loseDisk(a.node);
      if (a.restart) c.restart(a.node);
      return;
  }
}

/**
 * See the lose-disk action: only where losing a disk leaves the cluster one failure from
 * trouble, not less: every member runs and has applied the newest configuration (a lost disk
 * takes its member's vote away, and voters that do not know a change committed still count on
 * the old configuration's members, and so would any member that crashed before its commit index
 * covering the newest change is on disk).
 */
function losingDisksAllowed(c: Cluster): boolean {
  if (c.identity === null || c.identity.clusterId() === null || c.isRebuilding() || c.isRecovering() || c.lostForGood().size > 0 || c.down().length > 0) return false;
  const newest = confText(c.members());
  if (c.members().voters.length < 3) return false;
  return c.up().every((n) => confText(n.status().conf) === newest && !holdsUncommittedConf(n));
}

/**
 * A membership change in a node's log that it does not know committed (one may be under way), or
 * that a crash would make it forget: a restart knows the commit index on disk (or the snapshot),
 * and a power cut within the sync of a commit covering a change forgets it (the change is applied
 * only once that sync completes, so nothing acted on it, but a restart is in the configuration
 * before it). Seed 132161 of `--identity`, before the change waited for that sync,
 * lost n3's disk 7 ms after n1 and n2 applied n2's promotion, and a power cut of both before
 * that sync restarted them with n3 and n1 the voters: no quorum without n3, and no leader to
 * rebuild it.
 */
function holdsUncommittedConf(n: SimNode): boolean {
  const st = n.status();
  const log = n.log();
  const known = Math.min(st.commit, Math.max(n.disk.hardState().commit, n.disk.snapshotIndex()));
  const from = Math.max(known + 1, log.firstIndex());
  const to = log.lastIndex();
  // Entries not written yet are the leader's newest: a change among them is one it just proposed.
  if (st.lastIndex > to && st.role === 'leader') return true;
  if (from > to) return false;
  return log.entries(from, to + 1, Number.POSITIVE_INFINITY).some((e) => e.kind === 'conf');
}

export function randomFaults(rng: Rng): FaultSettings {
  const maxDelay = rng.int(0, 4);
  return {
    minDelay: rng.int(0, Math.min(maxDelay, 1) + 1),
    maxDelay,
    dropRate: pick(rng, [0, 0, 0.02, 0.05, 0.15]),
    dupRate: pick(rng, [0, 0, 0.02, 0.1]),
  };
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('schedule: pick from an empty list');
  return xs[rng.int(0, xs.length)]!;
}
