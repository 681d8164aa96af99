/**
 * One simulation run: a seed picks the cluster (2-5 voters, flow-control limits, snapshot
 * cadence, disk latency) and a randomized schedule of faults, client traffic and membership
 * changes. Every node runs the production RaftHost. Safety invariants are checked after every
 * event; at the end every fault is healed (one dead voter may stay dead) and the cluster must
 * elect a leader and commit a new write within 20 election timeouts (liveness), then every
 * running member must catch up and still hold every acknowledged write.
 */
import type { RaftHost } from '../../src/node/raft-host.js';
import type { Message, NodeId } from '../../src/raft/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { Cluster, emptyStats, type DiskSettings, type SimStats } from './cluster.js';
import { confText, logView, mix } from './node-checks.js';
import { InvariantViolation, type LogView } from './invariants.js';
import type { MessageHook } from './network.js';
import { chooseAction, perform, pick, randomFaults } from './schedule.js';
import type { NodeSettings } from './sim-node.js';
import { Trace } from './trace.js';

export interface RunOptions {
  /** Schedule steps before the faults heal. */
  readonly steps: number;
  /** Trace events remembered for the failure report (Infinity: all). */
  readonly traceKeep: number;
  /** Prints every trace event as it happens (the CLI's single-seed mode). */
  readonly echo?: (line: string) => void;
  /** Sees (and may rewrite or drop) every message: lets a test plant a fault the core must not survive. */
  readonly hook?: MessageHook;
  /** Lets a test plant a bug in every RaftHost of the run. */
  readonly plant?: (host: RaftHost) => void;
  /** Lets a test make receivers refuse some messages, as a broken core would. */
  readonly refuse?: (m: Message, receiver: RaftHost) => boolean;
  /** Runs the identity layer, with the lost-disk fault in the schedule. */
  readonly identity?: boolean;
  /**
   * With `identity`: the lost-disk fault, but the identity checks planted out (as before them,
   * an empty data dir bootstraps without asking, and every message is let in).
   */
  readonly identityChecksOff?: boolean;
}

export const DEFAULT_RUN: RunOptions = { steps: 300, traceKeep: 60 };

export interface SimResult {
  readonly seed: number;
  /** Run with the identity layer and the lost-disk fault. */
  readonly identity: boolean;
  readonly ok: boolean;
  /** What failed: an invariant, or an unexpected exception from the core or the harness. */
  readonly failure: string | null;
  readonly invariant: string | null;
  readonly params: string;
  readonly stats: SimStats;
  /** The last events before the end (or the failure), oldest first. */
  readonly trace: readonly string[];
}

/** The command that replays one seed with its full trace. */
export function replayCommand(seed: number, identity = false): string {
  return `npm run sim -- --seed ${seed}${identity ? ' --identity' : ''}`;
}

interface SeedParams {
  readonly voters: readonly NodeId[];
  readonly node: NodeSettings;
  readonly disk: DiskSettings;
  readonly loseUnsyncedRate: number;
  readonly minVoters: number;
}

function paramsFor(rng: Rng): SeedParams {
  // Two voters in a third of the seeds: promoting a learner into a two-voter configuration is
  // the one change that needs the vote rule of raft.ts (campaign_learner_must_vote.txt).
  const n = pick(rng, [2, 2, 3, 3, 4, 5]);
  return {
    voters: Array.from({ length: n }, (_, i) => `n${i + 1}`),
    node: {
      // Ticks of 10 ms: a heartbeat every 2 ticks, an election timeout of 10.
      heartbeatIntervalMs: 20,
      electionTimeoutMs: 100,
      maxInflight: rng.int(1, 9),
      // The core puts at most half the peer limit in one append: 64 bytes hold one put, 1 MiB everything.
      maxMessageBytes: 2 * pick(rng, [64, 256, 1 << 20]),
      maxApplyBytes: pick(rng, [64, 1 << 20]),
      snapshotEvery: rng.int(4, 20),
      snapshotTrailing: rng.int(0, 5),
    },
    // From fast disks to fsyncs of up to three ticks (a third of an election timeout): long
    // enough for messages, acknowledgements and crashes to land between a write and its
    // completion, short enough for elections to finish (etcd's advice: election timeout well
    // above the fsync latency).
    disk: { syncMaxMs: pick(rng, [1, 10, 30]), writeMaxMs: 1 },
    loseUnsyncedRate: 0.5,
    minVoters: Math.min(n, pick(rng, [2, 3])),
  };
}

function describe(p: SeedParams): string {
  const s = p.node;
  return (
    `voters=${p.voters.length} minVoters=${p.minVoters} heartbeat=${s.heartbeatIntervalMs}ms election=${s.electionTimeoutMs}ms ` +
    `inflight=${s.maxInflight} msgBytes=${s.maxMessageBytes} applyBytes=${s.maxApplyBytes} ` +
    `snapshotEvery=${s.snapshotEvery} trailing=${s.snapshotTrailing} fsync<=${p.disk.syncMaxMs}ms`
  );
}

export function runSeed(seed: number, opts: RunOptions = DEFAULT_RUN): SimResult {
  const rng = seededRng(mix(seed, 0x5c4ed));
  const p = paramsFor(rng);
  const trace = new Trace(opts.traceKeep, opts.echo ?? null);
  let cluster: Cluster | null = null;
  try {
    trace.note(0, `seed ${seed}: ${describe(p)}`);
    const c = new Cluster({
      seed,
      voters: p.voters,
      node: p.node,
      disk: p.disk,
      faults: randomFaults(rng),
      loseUnsyncedRate: p.loseUnsyncedRate,
      trace,
      ...(opts.plant ? { plant: opts.plant } : {}),
      ...(opts.refuse ? { refuse: opts.refuse } : {}),
      ...(opts.identity === true ? { identity: true } : {}),
      ...(opts.identityChecksOff === true ? { identityChecksOff: true } : {}),
    });
    cluster = c;
    c.net.hook = opts.hook ?? null;
    const limits = { maxNodes: p.voters.length + 2, minVoters: p.minVoters };
    for (let step = 0; step < opts.steps; step++) {
      perform(c, chooseAction(rng, c, limits));
      c.housekeeping();
    }
    checkLiveness(c, p.node.electionTimeoutMs, rng);
    return { seed, identity: opts.identity === true, ok: true, failure: null, invariant: null, params: describe(p), stats: c.stats, trace: trace.lines() };
  } catch (e) {
    const invariant = e instanceof InvariantViolation ? e.invariant : null;
    const failure = e instanceof Error ? (invariant ? e.message : (e.stack ?? e.message)) : String(e);
    trace.note(cluster?.now ?? 0, `FAILED: ${failure.split('\n')[0]}`);
    return { seed, identity: opts.identity === true, ok: false, failure, invariant, params: describe(p), stats: cluster?.stats ?? emptyStats(), trace: trace.lines() };
  }
}

/**
 * Heals every fault and restarts every member except the machines lost for good: the one the
 * schedule lost (a leader that died mid membership change), or else, in half the runs, the
 * voter that crashed last. They stay lost while the cluster can do without them: the voters of the
 * newest configuration that still run are a quorum of it, and one running member that applied
 * it is as up to date as every running voter (so the etcd vote rule can elect it). Then a
 * leader must commit a new write within 20 election timeouts, every running member must apply
 * it within 10 more, and hold every acknowledged write.
 */
function checkLiveness(c: Cluster, electionTimeoutMs: number, rng: Rng): void {
  c.note('--- faults healed: liveness check');
  c.net.heal();
  const f = c.net.faults();
  c.net.setFaults({ minDelay: f.minDelay, maxDelay: f.maxDelay, dropRate: 0, dupRate: 0 });
  const downVoters = c.down().filter((n) => c.members().voters.includes(n.id));
  // A member that lost its disk counts for nothing until the cluster records it again: no other
  // voter is lost for good meanwhile (that would be a second failure of three).
  if (c.lostForGood().size === 0 && downVoters.length > 0 && !c.isHealing() && rng.next() < 0.5) c.loseForGood(c.lastCrashed(downVoters)!.id);
  // Every member runs; a removed zombie is stopped, as an operator would. Repeated on every tick
  // because a membership change may still commit during the check.
  const healedAt = c.now;
  const allUp = (): void => {
    for (const n of [...c.nodes.values()]) {
      if (c.isRetired(n.id) || c.lostForGood().has(n.id) || c.isRebuilding(n.id)) continue;
      if (c.isMember(n.id)) c.restart(n.id);
      else if (c.wasMember(n.id)) c.retire(n.id);
    }
    // Judged once the restarted members have applied what they know is committed.
    if (c.now > healedAt && c.lostForGood().size > 0 && !canDoWithoutLost(c)) {
      for (const id of [...c.lostForGood()]) {
        c.note(`${id} is needed after all (${confText(c.members())}): restarted`);
        c.unlose(id);
        c.restart(id);
      }
    }
  };
  allUp();
  const bound = 20 * electionTimeoutMs;
  const start = c.now;
  const ids = new Set<string>();
  let lastTry = -Infinity;
  let ackIndex = 0;
  while (ackIndex === 0) {
    if (c.now - start > bound) {
      throw new InvariantViolation('liveness', `no write committed within 20 election timeouts (${bound} ms) after the faults healed; ${roles(c)}`);
    }
    const l = c.leader();
    if (l && c.now - lastTry >= 2 * electionTimeoutMs) {
      const id = c.propose('live', l);
      if (id) {
        ids.add(id);
        lastTry = c.now;
      }
    }
    c.tick();
    c.housekeeping();
    allUp();
    ackIndex = c.clients.acked().find((w) => ids.has(w.id))?.index ?? 0;
  }
  const catchUp = c.now + 10 * electionTimeoutMs;
  for (;;) {
    const members = [...c.members().voters, ...c.members().learners].filter((id) => !c.lostForGood().has(id)).map((id) => c.get(id));
    const behind = members.filter((n) => !n.up || n.sm.appliedIndex < ackIndex);
    if (behind.length === 0) {
      for (const n of members) c.clients.checkNothingLost(n.id, n.sm.appliedIndex, (k) => n.sm.get(k));
      checkCommittedPrefixes(c, members.map((n) => n.id));
      c.note(`liveness ok: write at ${ackIndex} applied by ${members.map((n) => n.id).join(',')}`);
      return;
    }
    if (c.now > catchUp) {
      const who = behind.map((n) => `${n.id}${n.up ? ` applied=${n.sm.appliedIndex}` : ' down'}`).join(', ');
      throw new InvariantViolation('liveness', `members still behind the write at ${ackIndex} after 10 election timeouts: ${who}; ${roles(c)}`);
    }
    c.tick();
    c.housekeeping();
    allUp();
  }
}

/** See checkLiveness: whether the cluster can elect a leader without the nodes lost for good. */
function canDoWithoutLost(c: Cluster): boolean {
  const conf = c.members();
  const alive = conf.voters.filter((id) => !c.lostForGood().has(id) && !c.isRetired(id) && c.nodes.has(id));
  if (alive.length < Math.floor(conf.voters.length / 2) + 1) return false;
  const running = alive.filter((id) => c.get(id).up).map((id) => c.get(id));
  const newest = confText(conf);
  const holders = running.filter((n) => confText(n.status().conf) === newest);
  return holders.some((h) => running.every((v) => atLeastAsUpToDate(logView(h.log()), logView(v.log()))));
}

function atLeastAsUpToDate(a: LogView, b: LogView): boolean {
  const ta = a.term(a.lastIndex()) ?? 0;
  const tb = b.term(b.lastIndex()) ?? 0;
  return ta > tb || (ta === tb && a.lastIndex() >= b.lastIndex());
}

/** The full pairwise check at the end: members' logs agree wherever both hold a committed entry. */
function checkCommittedPrefixes(c: Cluster, ids: readonly NodeId[]): void {
  for (let x = 0; x < ids.length; x++) {
    for (let y = x + 1; y < ids.length; y++) {
      const a = c.get(ids[x]!);
      const b = c.get(ids[y]!);
      const va = logView(a.log());
      const vb = logView(b.log());
      // Held: written to the node's storage (an entry the core took may still be in flight).
      const upTo = Math.min(a.status().commit, b.status().commit, va.lastIndex(), vb.lastIndex());
      for (let i = Math.max(va.compacted(), vb.compacted()) + 1; i <= upTo; i++) {
        if (va.term(i) !== vb.term(i)) {
          throw new InvariantViolation('log-matching', `${a.id} and ${b.id} differ at committed index ${i}: terms ${va.term(i)} and ${vb.term(i)}`);
        }
      }
    }
  }
}

function roles(c: Cluster): string {
  const parts = [...c.nodes.values()].map((n) => {
    if (!n.up) return `${n.id}:${c.isRetired(n.id) ? 'retired' : 'down'}`;
    const s = n.status();
    return `${n.id}:${s.role}@${s.term} lead=${s.leader ?? '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}`;
  });
  return `members ${confText(c.members())}; ${parts.join(' ')}`;
}

/** A failure as a human reads it: the seed, the replay command, what broke and the last events. */
export function formatFailure(r: SimResult, tail = 40): string {
  const lines = r.trace.slice(-tail);
  return [
    `simulation seed ${r.seed} failed (${r.params})`,
    `  replay: ${replayCommand(r.seed, r.identity)}`,
    `  ${r.failure ?? 'no failure'}`,
    `  last ${lines.length} events:`,
    ...lines.map((l) => `    ${l}`),
  ].join('\n');
}
