/**
 * Generated histories for the checker's tests: a real register driven by concurrent clients,
 * each operation taking effect at a random instant between its invocation and its completion.
 * Such a history is linearizable by construction. A brute-force checker serves as the oracle
 * for small, mutated histories.
 */
import type { Rng } from '../../src/util/rng.js';
import type { HistoryOp, KvOp, KvOutcome } from '../../chaos/history.js';
import { INITIAL_STATE, learnRevisions, step, type RegisterState } from '../../chaos/linearizability.js';

export interface GenOptions {
  readonly clients: number;
  readonly opsPerClient: number;
  readonly keys: readonly string[];
  /** Share of writes whose answer is lost (indeterminate); half of them never apply. */
  readonly indeterminate: number;
}

interface Pending {
  readonly client: string;
  readonly key: string;
  readonly op: KvOp;
  readonly invokeMs: number;
  readonly effectMs: number;
  readonly completeMs: number;
  readonly lost: boolean;
  readonly applies: boolean;
}

/** A linearizable history: real register semantics, random overlap, some lost answers. */
export function generateLinearizable(rng: Rng, opts: GenOptions): HistoryOp[] {
  const pending: Pending[] = [];
  let uniq = 0;
  // Each client knows the last revision it saw per key, to aim its compare-and-sets.
  const planned: Array<{ client: string; invokeMs: number; completeMs: number; key: string; choose: number; lost: boolean; applies: boolean; value: string }> = [];
  for (let c = 0; c < opts.clients; c++) {
    let t = rng.next() * 5;
    for (let i = 0; i < opts.opsPerClient; i++) {
      const invokeMs = t;
      const completeMs = t + 0.5 + rng.next() * 10;
      const lost = rng.next() < opts.indeterminate;
      planned.push({
        client: `c${c}`,
        invokeMs,
        completeMs,
        key: opts.keys[rng.int(0, opts.keys.length)]!,
        choose: rng.next(),
        lost,
        applies: !lost || rng.next() < 0.5,
        value: `v${++uniq}`,
      });
      // A client with a lost answer moves on at once (it does not know the outcome).
      t = completeMs + rng.next() * 3;
    }
  }
  // Choose each op's kind now; compare-and-set targets are fixed at effect time below.
  for (const p of planned) {
    const effectMs = p.invokeMs + rng.next() * (p.completeMs - p.invokeMs);
    const op: KvOp = p.choose < 0.4 ? { kind: 'get' } : p.choose < 0.7 ? { kind: 'put', value: p.value } : { kind: 'cas', value: p.value, ifRevision: -1 };
    pending.push({ client: p.client, key: p.key, op, invokeMs: p.invokeMs, effectMs, completeMs: p.completeMs, lost: p.lost && op.kind !== 'get', applies: p.applies || op.kind === 'get' });
  }
  // Apply in effect order against a real store with global revisions.
  const store = new Map<string, { value: string; rev: number }>();
  let revision = 0;
  const lastSeen = new Map<string, number>(); // client|key -> revision
  const results = new Map<Pending, KvOutcome>();
  const ops = new Map<Pending, KvOp>();
  for (const p of [...pending].sort((a, b) => a.effectMs - b.effectMs)) {
    const seenKey = `${p.client}|${p.key}`;
    const cur = store.get(p.key);
    let op = p.op;
    if (op.kind === 'cas') {
      // Aim at the last revision this client saw, sometimes at a wrong one.
      const aim = rng.next() < 0.8 ? (lastSeen.get(seenKey) ?? 0) : (cur?.rev ?? 0) + 1000;
      op = { kind: 'cas', value: op.value, ifRevision: aim };
    }
    ops.set(p, op);
    let outcome: KvOutcome;
    if (op.kind === 'get') {
      outcome = cur === undefined ? { kind: 'read', found: false } : { kind: 'read', found: true, value: cur.value, revision: cur.rev };
      if (cur !== undefined) lastSeen.set(seenKey, cur.rev);
    } else if (!p.applies) {
      outcome = { kind: 'unknown' };
    } else if (op.kind === 'cas' && (cur?.rev ?? 0) !== op.ifRevision) {
      outcome = { kind: 'cas-failed' };
    } else {
      revision += 1;
      store.set(p.key, { value: op.value, rev: revision });
      outcome = { kind: 'written', revision };
      // A client learns a revision only from an answer it received.
      if (!p.lost) lastSeen.set(seenKey, revision);
    }
    results.set(p, p.lost ? { kind: 'unknown' } : outcome);
  }
  return pending
    .sort((a, b) => a.invokeMs - b.invokeMs)
    .map((p, id) => {
      const outcome = results.get(p)!;
      return {
        id,
        client: p.client,
        key: p.key,
        op: ops.get(p)!,
        outcome,
        invokeMs: p.invokeMs,
        completeMs: outcome.kind === 'unknown' ? Infinity : p.completeMs,
      };
    });
}

/**
 * The oracle: tries every order of every subset of the indeterminate ops (with all the
 * determinate ones) that respects real time. Exponential; for a handful of ops only.
 */
export function bruteForceLinearizable(ops: readonly HistoryOp[]): boolean {
  const { learned, anomalies } = learnRevisions(ops);
  if (anomalies.length > 0) return false;
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of ops) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  for (const list of byKey.values()) if (!bruteKey(list, learned)) return false;
  return true;
}

function bruteKey(ops: readonly HistoryOp[], learned: ReadonlyMap<number, number>): boolean {
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const search = (state: RegisterState, done: number): boolean => {
    // Every determinate op placed: the remaining indeterminate ones may never happen.
    if (ops.every((op, i) => used[i] || op.outcome.kind === 'unknown')) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const op = ops[i]!;
      // Real time: op may go next only if no unplaced op completed before op was invoked.
      if (ops.some((o, j) => !used[j] && j !== i && o.completeMs < op.invokeMs)) continue;
      const next = step(state, op.op, op.outcome, learned.get(op.id) ?? null);
      if (next === null) continue;
      used[i] = true;
      if (search(next, done + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  return search(INITIAL_STATE, 0);
}
