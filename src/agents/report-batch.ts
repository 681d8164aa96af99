/**
 * Agent records travel through Raft in batches: a controller collects what changed for its
 * agents (claims, push-tracker state, departures) and sends one report at a time; whatever
 * changes while a report is in flight goes into the next one. One entry per agent per report,
 * so a burst of 1,000 ACKs costs a few log entries, and an idle cluster writes nothing.
 *
 * Coalescing keeps the latest state per agent; pushes are summed, so no push goes uncounted.
 */
import type { AgentReportEntry } from '../statemachine/index.js';
import { ByteBudget, encodedBytes } from './report-budget.js';

export class ReportBatch {
  private readonly pending = new Map<string, AgentReportEntry>();

  get size(): number {
    return this.pending.size;
  }

  add(e: AgentReportEntry): void {
    const old = this.pending.get(e.id);
    this.pending.set(e.id, old === undefined ? e : merge(old, e));
  }

  /** At most `max` entries (and REPORT_BUDGET_BYTES encoded), in the order agents first appeared. */
  take(max: number, budget: ByteBudget = new ByteBudget()): AgentReportEntry[] {
    const out: AgentReportEntry[] = [];
    for (const [id, e] of this.pending) {
      if (out.length >= max || !budget.take(encodedBytes(e))) break;
      out.push(e);
      this.pending.delete(id);
    }
    return out;
  }
}

function withPushes(e: AgentReportEntry, pushes: number): AgentReportEntry {
  return e.op === 'forget' ? e : { ...e, pushes };
}

function pushesOf(e: AgentReportEntry): number {
  return e.op === 'forget' ? 0 : e.pushes;
}

/** The entry that says what both say, in order. */
function merge(old: AgentReportEntry, e: AgentReportEntry): AgentReportEntry {
  // A forget yields to anything pending for the agent (the reaper asks again next round); any
  // entry of the agent replaces a pending forget (it is back, or its record changes first).
  if (e.op === 'forget') return old.op === 'forget' ? e : old;
  const pushes = pushesOf(old) + e.pushes;
  if (old.session === e.session) {
    // A connect must still reach the log: fold later tracker state into it.
    if (old.op === 'connect' && e.op === 'sync') return { ...old, sync: e.sync, timeoutMs: e.timeoutMs, pushes };
    return withPushes(e, pushes);
  }
  // Another stream's entry: a claim by a newer stream wins; nothing replaces a pending claim.
  if (e.op === 'connect') return withPushes(e, pushes);
  if (old.op === 'connect') return withPushes(old, pushes);
  return withPushes(e, pushes);
}
