/**
 * Liveness after every heal: from the moment a fault ends, how long until the majority side
 * reports a leader, and until a write invoked after the heal is acknowledged. The bound is
 * stated in election timeouts, the unit Raft's own recovery is measured in; it holds at any
 * load the harness is run at, so CI judges it always (docs/fault-injection.md, "CI").
 */
import type { StatusSample, World } from './status-analysis.js';

/** Generous: a leaderless stretch in the starved simulation lasted at most 9 election timeouts. */
export const LIVENESS_BOUND_ELECTION_TIMEOUTS = 20;

export interface Heal {
  readonly atMs: number;
  /** What ended: "isolate c2", "restart c1". */
  readonly cause: string;
}

export interface HealLiveness extends Heal {
  /** From the heal to the first answer of a majority-side node naming a majority-side leader; null: none within the bound. */
  readonly leaderMs: number | null;
  /** From the heal to the first acknowledgement of a write invoked at or after it; null: none within the bound. */
  readonly writeMs: number | null;
}

/** An acknowledged write (the workload's or the harness's probe after a heal). */
export interface AckedWrite {
  readonly invokeMs: number;
  readonly returnMs: number;
}

export interface LivenessVerdict {
  readonly boundMs: number;
  readonly heals: readonly HealLiveness[];
  /** One line per heal that missed the bound. */
  readonly problems: readonly string[];
}

/** The world in effect at `atMs` (worlds are in time order). */
function worldAt(worlds: readonly World[], atMs: number): World | undefined {
  let found: World | undefined;
  for (const w of worlds) {
    if (w.atMs > atMs) break;
    found = w;
  }
  return found;
}

function firstLeaderMs(heal: Heal, samples: readonly StatusSample[], worlds: readonly World[]): number | null {
  let best: number | null = null;
  for (const s of samples) {
    if (s.sentMs < heal.atMs) continue;
    const side = worldAt(worlds, s.sentMs)?.truth.majoritySide;
    const leader = s.rows.find((r) => r.leader)?.id;
    if (side === undefined || leader === undefined || !side.has(s.sampler) || !side.has(leader)) continue;
    const ms = s.receivedMs - heal.atMs;
    if (best === null || ms < best) best = ms;
  }
  return best;
}

function firstWriteMs(heal: Heal, writes: readonly AckedWrite[]): number | null {
  let best: number | null = null;
  for (const w of writes) {
    if (w.invokeMs < heal.atMs) continue;
    const ms = w.returnMs - heal.atMs;
    if (best === null || ms < best) best = ms;
  }
  return best;
}

export function judgeLiveness(
  heals: readonly Heal[],
  samples: readonly StatusSample[],
  worlds: readonly World[],
  writes: readonly AckedWrite[],
  electionTimeoutMs: number,
): LivenessVerdict {
  const boundMs = LIVENESS_BOUND_ELECTION_TIMEOUTS * electionTimeoutMs;
  const within = (ms: number | null): number | null => (ms !== null && ms <= boundMs ? Math.round(ms) : null);
  const judged = heals.map((h) => ({ ...h, leaderMs: within(firstLeaderMs(h, samples, worlds)), writeMs: within(firstWriteMs(h, writes)) }));
  const problems: string[] = [];
  for (const h of judged) {
    const missing = [h.leaderMs === null ? 'no leader' : null, h.writeMs === null ? 'no acknowledged write' : null].filter((x) => x !== null);
    if (missing.length > 0) {
      problems.push(`${missing.join(' and ')} within ${LIVENESS_BOUND_ELECTION_TIMEOUTS} election timeouts (${boundMs}ms) of the heal at ${(h.atMs / 1000).toFixed(1)}s (${h.cause})`);
    }
  }
  return { boundMs, heals: judged, problems };
}
