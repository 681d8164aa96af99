/**
 * A linearizability checker in the manner of Wing & Gong (1993) with Lowe's memoization, as
 * Porcupine (anishathalye/porcupine) does it:
 *
 * - The history of one key is a list of call and return events in time order. The search
 *   repeatedly picks a call whose operation can be linearized now (the model accepts it from
 *   the current state), lifts it out of the list, and backtracks when it meets a return
 *   event whose call has not been linearized yet (that operation had to take effect before
 *   it returned).
 * - Memoization: a (set of linearized ops, model state) pair that was already explored is not
 *   explored again. This is what makes the search practical on thousands of operations.
 * - P-compositionality (Herlihy & Wing): a history is linearizable iff each key's
 *   sub-history is, so every key is checked on its own.
 * - Indeterminate operations return at +infinity: they may be linearized at any point after
 *   their invocation, and linearizing them after everything else means "never happened".
 *
 * The model is a register with a revision, as the controller's KV stores it: a write creates
 * a new, strictly larger revision (global revisions are assigned in commit order); a read
 * returns the value and its revision; compare-and-set applies iff the key's revision equals
 * the expected one.
 */
import { describeOp, type HistoryOp, type KvOp, type KvOutcome } from './history.js';

// ---- The model. ----

export interface RegisterState {
  /** null: the key does not exist. */
  readonly value: string | null;
  /** The key's modRevision (0 before the first write); a lower bound when !revKnown. */
  readonly rev: number;
  /**
   * False after an indeterminate write nobody observed: it got some revision larger than
   * `rev`, unknown to us, and different from every revision a client could have named.
   */
  readonly revKnown: boolean;
}

export const INITIAL_STATE: RegisterState = { value: null, rev: 0, revKnown: true };

function stateKey(s: RegisterState): string {
  return `${s.value === null ? '\u0000' : s.value}\u0001${s.rev}\u0001${s.revKnown ? 1 : 0}`;
}

/** Does the key's revision equal `ifRevision` in this state? */
function casMatches(s: RegisterState, ifRevision: number): boolean {
  if (ifRevision === 0) return s.value === null;
  // An unobserved revision differs from every revision a client knows, so it never matches.
  return s.value !== null && s.revKnown && s.rev === ifRevision;
}

/** The state after a write with value v that got revision `learned` (null: unknown). */
function written(s: RegisterState, value: string, learned: number | null): RegisterState | null {
  if (learned === null) return { value, rev: s.rev, revKnown: false };
  return learned > s.rev ? { value, rev: learned, revKnown: true } : null;
}

/**
 * One step of the register: the state after `op` with `outcome`, or null when the model
 * cannot produce that outcome from `s`. `learned` is the revision of an indeterminate write
 * that some read observed (see learnRevisions).
 */
export function step(s: RegisterState, op: KvOp, outcome: KvOutcome, learned: number | null): RegisterState | null {
  switch (op.kind) {
    case 'get': {
      if (outcome.kind !== 'read') return null;
      if (!outcome.found) return s.value === null ? s : null;
      if (s.value !== outcome.value) return null;
      if (s.revKnown) return s.rev === outcome.revision ? s : null;
      return outcome.revision > s.rev ? { value: s.value, rev: outcome.revision, revKnown: true } : null;
    }
    case 'put':
      switch (outcome.kind) {
        case 'written':
          return written(s, op.value, outcome.revision);
        case 'unknown':
          return written(s, op.value, learned);
        case 'read':
        case 'cas-failed':
          return null;
        default: {
          const never: never = outcome;
          return never;
        }
      }
    case 'cas': {
      const matches = casMatches(s, op.ifRevision);
      switch (outcome.kind) {
        case 'written':
          return matches ? written(s, op.value, outcome.revision) : null;
        case 'cas-failed':
          return matches ? null : s;
        case 'unknown':
          // Deterministic once placed: it applies iff the revision matches at that point.
          return matches ? written(s, op.value, learned) : s;
        case 'read':
          return null;
        default: {
          const never: never = outcome;
          return never;
        }
      }
    }
    default: {
      const never: never = op;
      return never;
    }
  }
}

// ---- Preprocessing: what reads tell us about indeterminate writes. ----

export interface Anomaly {
  readonly key: string;
  readonly reason: string;
  readonly ops: readonly string[];
}

function writtenValue(op: KvOp): string | null {
  return op.kind === 'get' ? null : op.value;
}

/**
 * Values are unique per write, so a read that returns value v at revision r says that the
 * write of v got revision r. This gives indeterminate writes their revision, and catches at
 * once a value seen with two revisions (a write applied twice) or a value nobody wrote.
 */
export function learnRevisions(ops: readonly HistoryOp[]): { learned: Map<number, number>; anomalies: Anomaly[] } {
  const writerOf = new Map<string, HistoryOp>();
  const anomalies: Anomaly[] = [];
  for (const op of ops) {
    const v = writtenValue(op.op);
    if (v === null) continue;
    const prev = writerOf.get(v);
    if (prev !== undefined) {
      anomalies.push({ key: op.key, reason: `the workload wrote value ${v} twice (harness bug)`, ops: [describeOp(prev), describeOp(op)] });
    }
    writerOf.set(v, op);
  }
  const revOf = new Map<string, { rev: number; by: HistoryOp }>();
  for (const op of ops) {
    if (op.outcome.kind === 'written') {
      const v = writtenValue(op.op);
      if (v !== null) revOf.set(v, { rev: op.outcome.revision, by: op });
    }
  }
  const learned = new Map<number, number>();
  for (const op of ops) {
    const o = op.outcome;
    if (o.kind !== 'read' || !o.found) continue;
    const writer = writerOf.get(o.value);
    if (writer === undefined || writer.key !== op.key) {
      anomalies.push({ key: op.key, reason: `read value ${o.value} that no write of this key wrote`, ops: [describeOp(op)] });
      continue;
    }
    const known = revOf.get(o.value);
    if (known === undefined) {
      revOf.set(o.value, { rev: o.revision, by: op });
      learned.set(writer.id, o.revision);
    } else if (known.rev !== o.revision) {
      anomalies.push({
        key: op.key,
        reason: `value ${o.value} seen at revision ${o.revision} and at revision ${known.rev}: one write, two revisions`,
        ops: [describeOp(known.by), describeOp(op)],
      });
    }
  }
  return { learned, anomalies };
}

// ---- The search. ----

export interface KeyResult {
  readonly key: string;
  readonly ops: number;
  /** Indeterminate writes that no read observed, and whether they were summarized. */
  readonly unobserved: number;
  readonly summarized: boolean;
  /** 'unknown' when the step budget ran out before an answer. */
  readonly linearizable: boolean | 'unknown';
  readonly steps: number;
  /** When not linearizable: the longest linearizable prefix found and what could not follow it. */
  readonly explanation?: string;
}

export interface CheckResult {
  readonly linearizable: boolean | 'unknown';
  readonly keys: readonly KeyResult[];
  readonly anomalies: readonly Anomaly[];
}

export interface CheckOptions {
  /** Search steps allowed per key before the answer is 'unknown'. */
  readonly maxStepsPerKey?: number;
  /**
   * Up to this many unobserved indeterminate writes per key are searched exactly; above it
   * they are summarized (see checkKey). Default 3: each one can double the search.
   */
  readonly exactUnobservedLimit?: number;
}

/** The value of a key after an indeterminate write nobody read: no read can return it. */
const UNOBSERVED = '\u0000unobserved';

interface Entry {
  readonly op: number; // index into the key's ops
  readonly isCall: boolean;
  readonly time: number;
  prev: Entry | null;
  next: Entry | null;
  match: Entry | null; // call -> its return
}

/** A set of op indexes with a cheap incremental hash, for the memo table. */
class BitSet {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) + 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  equals(other: Uint32Array): boolean {
    for (let i = 0; i < other.length; i++) if (this.words[i] !== other[i]) return false;
    return true;
  }
}

/** Per-op random 32-bit words, XORed into a 64-bit hash of the linearized set. */
function zobrist(n: number, seed: number): [Uint32Array, Uint32Array] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    h1[i] = next();
    h2[i] = next();
  }
  return [h1, h2];
}

function buildList(ops: readonly HistoryOp[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { op: i, isCall: true, time: op.invokeMs, prev: null, next: null, match: null };
    const ret: Entry = { op: i, isCall: false, time: op.completeMs, prev: null, next: null, match: null };
    call.match = ret;
    entries.push(call, ret);
  });
  // Equal times count as concurrent: calls sort before returns, so no order is invented.
  entries.sort((x, y) => x.time - y.time || (x.isCall === y.isCall ? x.op - y.op : x.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

/**
 * Checks one key's operations (all of the same key).
 *
 * Indeterminate writes that no read observed are what makes refuting a history expensive:
 * each may be linearized anywhere after its call, so the search space grows as 2^k. Yet such
 * a write has one observable consequence only: while it is the latest write, the key's
 * revision is one no client knows, so a compare-and-set fails (no read can return its value,
 * and a later acknowledged write just needs a larger revision, as before). Above
 * `exactUnobservedLimit` they are therefore taken out of the search and summarized: a
 * compare-and-set whose failure the model cannot otherwise explain may consume one of them,
 * if enough of them (puts, or compare-and-sets that would apply in that state) were invoked
 * before it returned. Counting instead of tracking which one was used makes this a slight
 * over-approximation: it never rejects a linearizable history.
 */
export function checkKey(key: string, all: readonly HistoryOp[], learned: ReadonlyMap<number, number>, opts: CheckOptions = {}): KeyResult {
  const maxSteps = opts.maxStepsPerKey ?? 20_000_000;
  const isUnobserved = (op: HistoryOp): boolean => op.outcome.kind === 'unknown' && !learned.has(op.id);
  const unobservedOps = all.filter(isUnobserved);
  const summarized = unobservedOps.length > (opts.exactUnobservedLimit ?? 3);
  const ops = summarized ? all.filter((op) => !isUnobserved(op)) : all;
  const implicit = summarized ? unobservedOps : [];
  const base = { key, ops: all.length, unobserved: unobservedOps.length, summarized };
  const n = ops.length;
  if (n === 0) return { ...base, linearizable: true, steps: 0 };
  const head = buildList(ops);
  const [z1, z2] = zobrist(n, 0x5eed ^ n);
  const linearized = new BitSet(n);
  let h1 = 0;
  let h2 = 0;
  const memo = new Map<string, Uint32Array[]>();
  const calls: Array<{ entry: Entry; state: RegisterState; used: number }> = [];
  let state = INITIAL_STATE;
  let used = 0;
  let steps = 0;
  let best: { depth: number; order: number[]; state: RegisterState } = { depth: -1, order: [], state };

  const learnedOf = (i: number): number | null => learned.get(ops[i]!.id) ?? null;
  /** The model's step, plus the summarized writes when they are all that can explain a failure. */
  const modelStep = (op: HistoryOp, i: number): { state: RegisterState; used: number } | null => {
    const next = step(state, op.op, op.outcome, learnedOf(i));
    if (next !== null) return { state: next, used };
    if (implicit.length === 0 || op.op.kind !== 'cas' || op.outcome.kind !== 'cas-failed') return null;
    let eligible = 0;
    for (const u of implicit) {
      if (u.invokeMs <= op.completeMs && (u.op.kind === 'put' || (u.op.kind === 'cas' && casMatches(state, u.op.ifRevision)))) eligible += 1;
    }
    if (eligible <= used) return null;
    return { state: { value: UNOBSERVED, rev: state.rev, revKnown: false }, used: used + 1 };
  };

  let entry: Entry | null = head.next;
  while (head.next !== null) {
    if (++steps > maxSteps) return { ...base, linearizable: 'unknown', steps };
    if (entry === null) break; // cannot happen: a return always follows its call
    // Only indeterminate ops are left: linearize them after everything, i.e. never.
    if (!entry.isCall && entry.time === Infinity) return { ...base, linearizable: true, steps };
    if (entry.isCall) {
      const next = modelStep(ops[entry.op]!, entry.op);
      if (next !== null) {
        const n1 = (h1 ^ z1[entry.op]!) >>> 0;
        const n2 = (h2 ^ z2[entry.op]!) >>> 0;
        const memoKey = `${n1}:${n2}:${next.used}:${stateKey(next.state)}`;
        linearized.set(entry.op);
        const seen = memo.get(memoKey);
        if (seen === undefined || !seen.some((bits) => linearized.equals(bits))) {
          const copy = linearized.words.slice();
          if (seen === undefined) memo.set(memoKey, [copy]);
          else seen.push(copy);
          calls.push({ entry, state, used });
          state = next.state;
          used = next.used;
          h1 = n1;
          h2 = n2;
          lift(entry);
          if (calls.length > best.depth) best = { depth: calls.length, order: calls.map((c) => c.entry.op), state };
          entry = head.next;
          continue;
        }
        linearized.clear(entry.op);
      }
      entry = entry.next;
    } else {
      // A return whose call is still in the list: that op had to be linearized by now.
      const top = calls.pop();
      if (top === undefined) {
        return { ...base, linearizable: false, steps, explanation: explain(ops, best) };
      }
      state = top.state;
      used = top.used;
      linearized.clear(top.entry.op);
      h1 = (h1 ^ z1[top.entry.op]!) >>> 0;
      h2 = (h2 ^ z2[top.entry.op]!) >>> 0;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ...base, linearizable: true, steps };
}

function explain(ops: readonly HistoryOp[], best: { depth: number; order: number[]; state: RegisterState }): string {
  const done = new Set(best.order);
  const tail = best.order.slice(-5).map((i) => `  ${describeOp(ops[i]!)}`);
  const pending = ops
    .map((op, i) => ({ op, i }))
    .filter(({ i }) => !done.has(i))
    .sort((a, b) => a.op.invokeMs - b.op.invokeMs);
  // The ops that had to come next: those invoked before the earliest pending completion.
  const firstEnd = Math.min(...pending.map(({ op }) => op.completeMs));
  const frontier = pending.filter(({ op }) => op.invokeMs <= firstEnd).slice(0, 8);
  const s = best.state;
  const shown = s.value === UNOBSERVED ? '(an unobserved indeterminate write)' : s.value;
  const stateText = s.value === null ? 'absent' : `${shown}@${s.revKnown ? s.rev : `>${s.rev}`}`;
  return [
    `longest linearizable prefix: ${best.order.length} of ${ops.length} ops, ending with`,
    ...tail,
    `state then: ${stateText}; none of these can come next:`,
    ...frontier.map(({ op }) => `  ${describeOp(op)}`),
  ].join('\n');
}

/** Checks a whole history: anomalies first, then each key on its own. */
export function checkHistory(ops: readonly HistoryOp[], opts: CheckOptions = {}): CheckResult {
  const { learned, anomalies } = learnRevisions(ops);
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const keys = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, list]) => checkKey(key, list, learned, opts));
  let linearizable: boolean | 'unknown' = anomalies.length === 0;
  if (linearizable) {
    if (keys.some((k) => k.linearizable === false)) linearizable = false;
    else if (keys.some((k) => k.linearizable === 'unknown')) linearizable = 'unknown';
  }
  return { linearizable, keys, anomalies };
}
