/**
 * What the simulations check on every running node after every event, and the small helpers
 * they share: a node's log as the checks read it, configurations in a trace, seed mixing.
 */
import type { ConfState, MemoryStorage } from '../../src/raft/index.js';
import { InvariantViolation, type LogView, type SafetyChecker } from './invariants.js';
import type { SimNode } from './sim-node.js';

/**
 * A leader whose commit index is covered by a quorum only with its own copy counted, while its
 * disk does not hold that copy yet (the core counts a leader's entries at once; the driver must
 * not act on such a commit before the write completes: ready.ts, rule 2).
 */
export function leansOnOwnCopy(n: SimNode): boolean {
  if (!n.up) return false;
  const st = n.status();
  if (st.role !== 'leader' || st.commit <= n.disk.lastIndex()) return false;
  const others = st.conf.voters.filter((v) => v !== n.id && (st.progress.get(v)?.match ?? 0) >= st.commit).length;
  return others < Math.floor(st.conf.voters.length / 2) + 1;
}

/** The checks to run after every event, over every running node. */
export function checkNodes(safety: SafetyChecker, nodes: Iterable<SimNode>): void {
  for (const n of nodes) {
    if (!n.up) continue;
    const st = n.status();
    const log = n.log();
    const view = logView(log);
    safety.observeCommit(n.id, st.commit, st.term, view, log.hardState().commit, n.disk.stableIndex());
    if (st.role === 'leader') {
      safety.observeLeader(n.id, st.term);
      safety.checkLeaderCompleteness(n.id, st.term, view);
    }
    if (st.applied !== n.sm.appliedIndex) {
      throw new InvariantViolation('driver-agreement', `${n.id}: raft applied ${st.applied}, state machine ${n.sm.appliedIndex}`);
    }
  }
}

/** A node's log as the checks see it: everything its process wrote. */
export function logView(s: MemoryStorage): LogView {
  return {
    term: (i) => (i < s.firstIndex() - 1 || i > s.lastIndex() ? null : s.term(i)),
    entry: (i) => (i < s.firstIndex() || i > s.lastIndex() ? null : (s.entries(i, i + 1, Number.POSITIVE_INFINITY)[0] ?? null)),
    compacted: () => s.firstIndex() - 1,
    lastIndex: () => s.lastIndex(),
  };
}

export function confText(c: ConfState): string {
  return `voters=[${c.voters.join(',')}] learners=[${c.learners.join(',')}]`;
}

/** Mixes two numbers into a 32-bit seed. */
export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
