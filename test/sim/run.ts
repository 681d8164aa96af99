/**
 * One simulation run: a seed picks the cluster (3-5 voters, timings, flow-control limits,
 * snapshot cadence) and a randomized schedule of faults, client traffic and membership changes.
 * Safety invariants are checked after every event; at the end every fault is healed and the
 * cluster must elect a leader and commit a new write within 20 election timeouts (liveness),
 * then every member must catch up and still hold every acknowledged write.
 */
import type { NodeId } from '../../src/raft/index.js';
import { seededRng, type Rng } from '../../src/util/rng.js';
import { Cluster, confText, emptyStats, logView, mix, type SimStats } from './cluster.js';
import { InvariantViolation } from './invariants.js';
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
}

export const DEFAULT_RUN: RunOptions = { steps: 300, traceKeep: 60 };

export interface SimResult {
  readonly seed: number;
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
export function replayCommand(seed: number): string {
  return `npm run sim -- --seed ${seed}`;
}

interface SeedParams {
  readonly voters: readonly NodeId[];
  readonly node: NodeSettings;
  readonly loseUnsyncedRate: number;
}

function paramsFor(rng: Rng): SeedParams {
  const n = rng.int(3, 6);
  return {
    voters: Array.from({ length: n }, (_, i) => `n${i + 1}`),
    node: {
      electionTicks: 10,
      heartbeatTicks: rng.int(1, 4),
      maxInflight: rng.int(1, 9),
      // 64 bytes holds one put per append; 1 MiB holds everything.
      maxMessageBytes: pick(rng, [64, 256, 1 << 20]),
      maxApplyBytes: pick(rng, [64, 1 << 20]),
      snapshotEvery: rng.int(4, 20),
      snapshotTrailing: rng.int(0, 5),
    },
    loseUnsyncedRate: 0.5,
  };
}

function describe(p: SeedParams): string {
  const s = p.node;
  return (
    `voters=${p.voters.length} election=${s.electionTicks} heartbeat=${s.heartbeatTicks} ` +
    `inflight=${s.maxInflight} msgBytes=${s.maxMessageBytes} applyBytes=${s.maxApplyBytes} ` +
    `snapshotEvery=${s.snapshotEvery} trailing=${s.snapshotTrailing}`
  );
}

export function runSeed(seed: number, opts: RunOptions = DEFAULT_RUN): SimResult {
  const rng = seededRng(mix(seed, 0x5c4ed));
  const p = paramsFor(rng);
  const trace = new Trace(opts.traceKeep, opts.echo ?? null);
  let cluster: Cluster | null = null;
  try {
    trace.note(0, `seed ${seed}: ${describe(p)}`);
    const c = new Cluster({ seed, voters: p.voters, node: p.node, faults: randomFaults(rng), loseUnsyncedRate: p.loseUnsyncedRate, trace });
    cluster = c;
    c.net.hook = opts.hook ?? null;
    const limits = { maxNodes: p.voters.length + 2, minVoters: 3 };
    for (let step = 0; step < opts.steps; step++) {
      perform(c, chooseAction(rng, c, limits));
      c.housekeeping();
    }
    checkLiveness(c, p.node.electionTicks);
    return { seed, ok: true, failure: null, invariant: null, params: describe(p), stats: c.stats, trace: trace.lines() };
  } catch (e) {
    const invariant = e instanceof InvariantViolation ? e.invariant : null;
    const failure = e instanceof Error ? (invariant ? e.message : (e.stack ?? e.message)) : String(e);
    trace.note(cluster?.now ?? 0, `FAILED: ${failure.split('\n')[0]}`);
    return { seed, ok: false, failure, invariant, params: describe(p), stats: cluster?.stats ?? emptyStats(), trace: trace.lines() };
  }
}

/**
 * Heals every fault, restarts every member, and requires a leader to commit a new write within
 * 20 election timeouts; then every member must apply it within 10 more, and hold every
 * acknowledged write.
 */
function checkLiveness(c: Cluster, electionTicks: number): void {
  c.note('--- faults healed: liveness check');
  c.net.heal();
  const f = c.net.faults();
  c.net.setFaults({ minDelay: f.minDelay, maxDelay: f.maxDelay, dropRate: 0, dupRate: 0 });
  // Every member runs; a removed zombie is stopped, as an operator would. Repeated on every tick
  // because a membership change may still commit during the check.
  const allUp = (): void => {
    for (const n of [...c.nodes.values()]) {
      if (c.isRetired(n.id)) continue;
      if (c.isMember(n.id)) c.restart(n.id);
      else if (c.wasMember(n.id)) c.retire(n.id);
    }
  };
  allUp();
  const bound = 20 * electionTicks;
  const start = c.now;
  const ids = new Set<string>();
  let lastTry = -Infinity;
  let ackIndex = 0;
  while (ackIndex === 0) {
    if (c.now - start > bound) {
      throw new InvariantViolation('liveness', `no write committed within ${bound} ticks after the faults healed; ${roles(c)}`);
    }
    const l = c.leader();
    if (l && c.now - lastTry >= 2 * electionTicks) {
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
  const catchUp = c.now + 10 * electionTicks;
  for (;;) {
    const members = [...c.members().voters, ...c.members().learners].map((id) => c.get(id));
    const behind = members.filter((n) => !n.up || n.sm.applied < ackIndex);
    if (behind.length === 0) {
      for (const n of members) c.clients.checkNothingLost(n.id, n.sm.applied, (k) => n.sm.get(k));
      checkCommittedPrefixes(c, members.map((n) => n.id));
      c.note(`liveness ok: write at ${ackIndex} applied by ${members.map((n) => n.id).join(',')}`);
      return;
    }
    if (c.now > catchUp) {
      const who = behind.map((n) => `${n.id}${n.up ? ` applied=${n.sm.applied}` : ' down'}`).join(', ');
      throw new InvariantViolation('liveness', `members still behind the write at ${ackIndex} after ${10 * electionTicks} ticks: ${who}; ${roles(c)}`);
    }
    c.tick();
    c.housekeeping();
    allUp();
  }
}

/** The full pairwise check at the end: members' logs agree wherever both hold a committed entry. */
function checkCommittedPrefixes(c: Cluster, ids: readonly NodeId[]): void {
  for (let x = 0; x < ids.length; x++) {
    for (let y = x + 1; y < ids.length; y++) {
      const a = c.get(ids[x]!);
      const b = c.get(ids[y]!);
      const va = logView(a.live);
      const vb = logView(b.live);
      const upTo = Math.min(a.status().commit, b.status().commit);
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
    `  replay: ${replayCommand(r.seed)}`,
    `  ${r.failure ?? 'no failure'}`,
    `  last ${lines.length} events:`,
    ...lines.map((l) => `    ${l}`),
  ].join('\n');
}
