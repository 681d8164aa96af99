/**
 * Holds the sampled `list controllers` answers to the truth.
 *
 * - Accuracy: every row of every answer from a majority-side node that does not say it is
 *   stale (a stale answer says it may be out of date: it is shown, never counted) is one comparison of the
 *   reported status (online, offline, or not listed) with the truth at the time the request
 *   was sent. Comparisons within the grace window after a change of the subject's truth, or
 *   after the answering node joined the majority side, are excluded: the system is allowed
 *   that long to notice (the window is the convergence target, base timeout + 1 s). So is an
 *   answer whose request and response straddle a change of the subject.
 * - Convergence: for each change of a member's truth, the time from the change until every
 *   majority-side node has reported the new status at least once (the first answer showing
 *   it, per node; the slowest node counts). Measured with the sampling period's resolution.
 *   A change overtaken by the next change of the same member within the grace window is
 *   "superseded", neither converged nor a failure.
 */
import type { Truth } from './truth.js';

export type Reported = 'online' | 'offline' | 'absent';
/** What the truth expects: also 'unknown' when one-way cuts leave it undecidable (see truth.ts). */
export type Expected = Reported | 'unknown';

export interface World {
  readonly atMs: number;
  readonly truth: Truth;
  /** What changed, for the report ("kill c2"). */
  readonly cause: string;
  /**
   * fault: a fault or its heal; membership: a member removed, added, joined or promoted by the
   * harness (its convergence includes the conf change's own commit, so it is reported apart).
   */
  readonly kind: 'start' | 'fault' | 'membership';
}

export interface SampleRow {
  readonly id: string;
  readonly online: boolean;
  readonly leader: boolean;
  /** The answering node's own detector and the committed state, for diagnosis. */
  readonly local?: 'online' | 'offline' | 'unknown';
  readonly cluster?: 'online' | 'offline' | 'unknown';
  /** The answering node's heartbeat timeout for the member (0 for itself): chaos/settle.ts. */
  readonly timeoutMs?: number;
}

export interface StatusSample {
  readonly sampler: string;
  readonly sentMs: number;
  readonly receivedMs: number;
  readonly rows: readonly SampleRow[];
  readonly stale: boolean;
}

export interface Mismatch {
  readonly atMs: number;
  readonly sampler: string;
  readonly subject: string;
  readonly expected: Expected;
  readonly reported: Reported;
}

export interface StatusChange {
  readonly atMs: number;
  readonly subject: string;
  readonly to: Expected;
  readonly cause: string;
  readonly kind: World['kind'];
  /** ms until every majority-side node reported it; null if that never happened in time. */
  readonly convergedMs: number | null;
  /** The nodes that had to report it. */
  readonly samplers: number;
  /**
   * The subject changed again within the grace window, before every node had reported this
   * change (a member added and started within a second): not a failure to converge.
   */
  readonly superseded?: boolean;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface StatusAnalysis {
  readonly compared: number;
  readonly matched: number;
  readonly excluded: number;
  /** matched / compared; 1 when nothing was compared. */
  readonly accuracy: number;
  /** The same per answering node: each node is held to the truth on its own. */
  readonly accuracyByNode: Readonly<Record<string, { readonly compared: number; readonly accuracy: number }>>;
  /** Answers left out because their node said it was stale. */
  readonly staleAnswers: number;
  /** Up to 100 of them, in time order. */
  readonly mismatches: readonly Mismatch[];
  readonly mismatchCount: number;
  readonly changes: readonly StatusChange[];
  /** Over the changes caused by faults and heals. */
  readonly convergenceMs: Percentiles;
  /** Over the changes caused by membership operations. */
  readonly membershipConvergenceMs: Percentiles;
  readonly unconverged: number;
}

export function stateOf(truth: Truth, id: string): Expected {
  const online = truth.online.get(id);
  return online === undefined ? 'absent' : online === null ? 'unknown' : online ? 'online' : 'offline';
}

/** Nearest-rank percentiles; zeros for an empty list. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)), max: Math.round(sorted[sorted.length - 1]!) };
}

/** The world in force at time t (worlds sorted by time; the first is the baseline). */
function worldAt(worlds: readonly World[], t: number): World | null {
  let lo = 0;
  let hi = worlds.length - 1;
  let found: World | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (worlds[mid]!.atMs <= t) {
      found = worlds[mid]!;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** One row of one answer held to the truth. */
export interface Comparison {
  readonly atMs: number;
  readonly sampler: string;
  readonly subject: string;
  readonly expected: Expected;
  readonly reported: Reported;
  /** False within the grace window, or when the truth is undetermined: shown, not counted. */
  readonly counted: boolean;
}

interface ChangeIndex {
  readonly subjectChanges: Map<string, number[]>;
  readonly sideChanges: Map<string, number[]>;
  readonly changes: Array<{ atMs: number; subject: string; to: Expected; cause: string; world: World }>;
}

function indexChanges(worlds: readonly World[], samples: readonly StatusSample[]): ChangeIndex {
  // When each subject's expected status, and each node's majority-side membership, changed.
  const subjectChanges = new Map<string, number[]>();
  const sideChanges = new Map<string, number[]>();
  const changes: ChangeIndex['changes'] = [];
  const ids = new Set<string>();
  for (const w of worlds) for (const id of w.truth.online.keys()) ids.add(id);
  for (const s of samples) for (const r of s.rows) ids.add(r.id);
  for (let i = 1; i < worlds.length; i++) {
    const prev = worlds[i - 1]!;
    const w = worlds[i]!;
    for (const id of ids) {
      const to = stateOf(w.truth, id);
      if (stateOf(prev.truth, id) !== to) {
        subjectChanges.set(id, [...(subjectChanges.get(id) ?? []), w.atMs]);
        changes.push({ atMs: w.atMs, subject: id, to, cause: w.cause, world: w });
      }
      if (prev.truth.majoritySide.has(id) !== w.truth.majoritySide.has(id)) sideChanges.set(id, [...(sideChanges.get(id) ?? []), w.atMs]);
    }
  }
  return { subjectChanges, sideChanges, changes };
}

/** Every row of every majority-side answer, held to the truth at the time it was asked for. */
export function compareSamples(worlds: readonly World[], samples: readonly StatusSample[], graceMs: number, index = indexChanges(worlds, samples)): Comparison[] {
  const recentlyChanged = (list: readonly number[] | undefined, t: number): boolean => (list ?? []).some((c) => c <= t && t < c + graceMs);
  const out: Comparison[] = [];
  for (const s of samples) {
    const w = worldAt(worlds, s.sentMs);
    if (w === null || s.stale || !w.truth.majoritySide.has(s.sampler)) continue;
    const rows = new Map(s.rows.map((r) => [r.id, r]));
    const subjects = new Set([...w.truth.online.keys(), ...rows.keys()]);
    const samplerSettling = recentlyChanged(index.sideChanges.get(s.sampler), s.sentMs);
    for (const id of subjects) {
      const row = rows.get(id);
      const expected = stateOf(w.truth, id);
      out.push({
        atMs: s.sentMs,
        sampler: s.sampler,
        subject: id,
        expected,
        reported: row === undefined ? 'absent' : row.online ? 'online' : 'offline',
        // An answer computed while the member's truth changed may show either side of it.
        counted:
          expected !== 'unknown' &&
          !samplerSettling &&
          !recentlyChanged(index.subjectChanges.get(id), s.sentMs) &&
          !(index.subjectChanges.get(id) ?? []).some((c) => c > s.sentMs && c <= s.receivedMs),
      });
    }
  }
  return out;
}

export function analyzeStatus(worlds: readonly World[], samples: readonly StatusSample[], graceMs: number, endMs: number): StatusAnalysis {
  const index = indexChanges(worlds, samples);
  const { subjectChanges, changes } = index;
  let compared = 0;
  let matched = 0;
  let excluded = 0;
  let mismatchCount = 0;
  const mismatches: Mismatch[] = [];
  const byNode = new Map<string, { compared: number; matched: number }>();
  for (const c of compareSamples(worlds, samples, graceMs, index)) {
    if (!c.counted) {
      excluded += 1;
      continue;
    }
    compared += 1;
    const node = byNode.get(c.sampler) ?? { compared: 0, matched: 0 };
    byNode.set(c.sampler, node);
    node.compared += 1;
    if (c.reported === c.expected) node.matched += 1;
    if (c.reported === c.expected) matched += 1;
    else {
      mismatchCount += 1;
      if (mismatches.length < 100) mismatches.push({ atMs: c.atMs, sampler: c.sampler, subject: c.subject, expected: c.expected, reported: c.reported });
    }
  }

  const bySampler = new Map<string, StatusSample[]>();
  for (const s of samples) bySampler.set(s.sampler, [...(bySampler.get(s.sampler) ?? []), s]);
  for (const list of bySampler.values()) list.sort((a, b) => a.sentMs - b.sentMs);
  const results: StatusChange[] = [];
  for (const c of changes) {
    if (c.to === 'unknown') continue; // nothing definite to converge to
    const next = (subjectChanges.get(c.subject) ?? []).find((t) => t > c.atMs) ?? endMs;
    let worst = 0;
    let converged = true;
    let required = 0;
    for (const sampler of c.world.truth.majoritySide) {
      const own = bySampler.get(sampler) ?? [];
      // A killed or cut-off sampler answers nothing, so its own samples cannot show that it
      // left: the worlds do.
      const leftAt = worlds.find((w) => w.atMs > c.atMs && w.atMs < next && !w.truth.majoritySide.has(sampler))?.atMs ?? null;
      let seen: number | null = null;
      let left = false;
      for (const s of own) {
        if (s.sentMs < c.atMs) continue;
        if (s.receivedMs >= next) break;
        if (leftAt !== null && s.sentMs >= leftAt) {
          left = true;
          break;
        }
        if (s.stale) continue; // says it may be out of date: neither proof nor failure
        const w = worldAt(worlds, s.sentMs);
        if (w === null || !w.truth.majoritySide.has(sampler)) {
          left = true; // it left the majority side before reporting: not required
          break;
        }
        const row = s.rows.find((r) => r.id === c.subject);
        const reported: Reported = row === undefined ? 'absent' : row.online ? 'online' : 'offline';
        if (reported === c.to) {
          seen = s.receivedMs - c.atMs;
          break;
        }
      }
      if (left || (seen === null && leftAt !== null)) continue;
      required += 1;
      if (seen === null) converged = false;
      else worst = Math.max(worst, seen);
    }
    if (required === 0) continue;
    const superseded = !converged && next < endMs && next - c.atMs < graceMs;
    results.push({
      atMs: c.atMs,
      subject: c.subject,
      to: c.to,
      cause: c.cause,
      kind: c.world.kind,
      convergedMs: converged ? Math.round(worst) : null,
      samplers: required,
      ...(superseded ? { superseded } : {}),
    });
  }
  const times = (kind: World['kind']): number[] => results.filter((r) => r.kind === kind && r.convergedMs !== null).map((r) => r.convergedMs!);
  return {
    compared,
    matched,
    excluded,
    accuracy: compared === 0 ? 1 : matched / compared,
    accuracyByNode: Object.fromEntries(
      [...byNode].sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => [id, { compared: n.compared, accuracy: Number((n.matched / n.compared).toFixed(6)) }]),
    ),
    staleAnswers: samples.filter((x) => x.stale).length,
    mismatches,
    mismatchCount,
    changes: results,
    convergenceMs: percentiles(times('fault')),
    membershipConvergenceMs: percentiles(times('membership')),
    unconverged: results.filter((r) => r.convergedMs === null && r.superseded !== true).length,
  };
}
