/**
 * The recorded history of a chaos run: every client operation with its invocation time, its
 * completion time and what it returned. This is the input of the linearizability checker and
 * of the lost-write count, and the op-latency lane of the timeline.
 *
 * Times are milliseconds since the start of the run (performance.now() based), taken in the
 * harness process just before the request is sent and just after the answer arrives.
 */

/** What a client asked for. Values are unique per write, so a read names the write it saw. */
export type KvOp =
  | { readonly kind: 'get' }
  | { readonly kind: 'put'; readonly value: string }
  /** Compare-and-set: write only if the key's modRevision equals ifRevision (0: must not exist). */
  | { readonly kind: 'cas'; readonly value: string; readonly ifRevision: number };

/** What the system answered, as far as the model is concerned. */
export type KvOutcome =
  | { readonly kind: 'read'; readonly found: false }
  | { readonly kind: 'read'; readonly found: true; readonly value: string; readonly revision: number }
  /** A put or a compare-and-set that was acknowledged, with the revision it created. */
  | { readonly kind: 'written'; readonly revision: number }
  /** The state machine refused a compare-and-set: definitely not applied. */
  | { readonly kind: 'cas-failed' }
  /**
   * Indeterminate: a write that timed out, or failed in a way that does not rule out that it
   * was (or will be) applied: NO_LEADER after a proposal, a lost connection, a deadline.
   */
  | { readonly kind: 'unknown' };

export interface HistoryOp {
  readonly id: number;
  readonly client: string;
  readonly key: string;
  readonly op: KvOp;
  readonly outcome: KvOutcome;
  readonly invokeMs: number;
  /** Infinity for an indeterminate outcome: the write may take effect at any later time. */
  readonly completeMs: number;
}

/** One operation as the workload saw it, kept for counts and the latency plot. */
export interface OpRecord {
  readonly client: string;
  readonly key: string;
  readonly op: KvOp;
  readonly invokeMs: number;
  /** When the call returned (also for indeterminate and failed ones). */
  readonly returnMs: number;
  readonly result: 'ok' | 'failed' | 'indeterminate';
  /** The outcome for the checker; null for a failed read (it had no effect to check). */
  readonly outcome: KvOutcome | null;
  /** The error code for failed and indeterminate ones. */
  readonly error?: string;
}

/** The ops the checker sees: failed reads dropped, indeterminate ones open-ended. */
export function checkableHistory(records: readonly OpRecord[]): HistoryOp[] {
  const out: HistoryOp[] = [];
  for (const r of records) {
    if (r.outcome === null) continue;
    out.push({
      id: out.length,
      client: r.client,
      key: r.key,
      op: r.op,
      outcome: r.outcome,
      invokeMs: r.invokeMs,
      completeMs: r.outcome.kind === 'unknown' ? Infinity : r.returnMs,
    });
  }
  return out;
}

export function describeOp(op: HistoryOp): string {
  const what =
    op.op.kind === 'get'
      ? `get ${op.key}`
      : op.op.kind === 'put'
        ? `put ${op.key}=${op.op.value}`
        : `cas ${op.key}=${op.op.value} if rev ${op.op.ifRevision}`;
  const o = op.outcome;
  const result =
    o.kind === 'read'
      ? o.found
        ? `-> ${o.value}@${o.revision}`
        : '-> not found'
      : o.kind === 'written'
        ? `-> rev ${o.revision}`
        : o.kind === 'cas-failed'
          ? '-> cas failed'
          : '-> unknown';
  const end = Number.isFinite(op.completeMs) ? op.completeMs.toFixed(1) : 'inf';
  return `#${op.id} [${op.invokeMs.toFixed(1)}, ${end}] ${op.client}: ${what} ${result}`;
}
