/**
 * Agent records travel through Raft in batches: a controller collects what changed for its
 * agents (claims, push-tracker state, departures) and sends one report at a time; whatever
 * changes while a report is in flight goes into the next one. One entry per agent per report,
 * so a burst of 1,000 ACKs costs a few log entries, and an idle cluster writes nothing.
 *
 * Coalescing keeps the latest state per agent; pushes are summed, so no push goes uncounted.
 * A departure (a disconnect) never swallows what the agent's pending sync, or its stream's own
 * pending claim, says: it waits for the next report. The hub may take a disconnect back out of a
 * report it has to send again (recheckOffline: the agent may have moved meanwhile), and what it
 * had swallowed went with it: the stream's last pushes went uncounted for good and its last
 * tracker state (an ACK, a NACK and its audit) never reached the record (agents simulation,
 * seed 84 with --lossy --skew 1000: 2 of an agent's 9 pushes). Nor is a departure dropped for a
 * claim (or sync) of another stream of its agent: it goes after it, and is applied only if the
 * record still names the departed stream. The hub leaves out a claim of a stream gone from it by
 * then (hub.ts withoutGoneClaims); a departure that claim had replaced was lost with it, and the
 * agent was shown online on a stream gone for good until the next reconcile round (up to
 * state_sync_interval, 5 s, past its timeout and grace). Departures wait per stream, not per
 * agent: a departure of another stream never replaces one waiting (or pending) for its agent, as
 * that one may be the only entry that can take the agent offline (the other stream's claim left
 * out, say). Each goes, one per report, and each is applied only if the record names its stream.
 *
 * An entry is *quiet* when all it says is that an agent already recorded as in step with its
 * stream acknowledged the next push it was sent (a `sync` whose acked version is its sent one,
 * after a quiet one of the same stream was reported): good news, which the driver may pace under
 * a stream of changes (hub-driver.ts). Anything else is urgent and takes the quiet entries with
 * it: a claim, a departure, a NACK, a push left unanswered, and an agent's first ACK after any of
 * those (after a failover, say), so what `list agents` shows of a change in an agent's state is
 * never paced.
 */
import type { AgentReportEntry } from '../statemachine/index.js';
import { ByteBudget, encodedBytes } from './report-budget.js';

export class ReportBatch {
  private readonly pending = new Map<string, AgentReportEntry>();
  /** Ids whose pending entry is not quiet. */
  private readonly urgent = new Set<string>();
  /** The stream of each agent whose last entry taken said it acknowledged what it was sent. */
  private readonly inStep = new Map<string, string>();
  /** Disconnects waiting for a later report, by agent and stream: what is pending of their agent goes first. */
  private readonly deferred = new Map<string, Map<string, AgentReportEntry>>();

  get size(): number {
    return this.pending.size;
  }

  /** Whether some pending entry is more than an acknowledgement of the last push sent. */
  get hasUrgent(): boolean {
    return this.urgent.size > 0 || this.deferred.size > 0;
  }

  add(e: AgentReportEntry): void {
    let old = this.pending.get(e.id);
    if (old !== undefined && e.op === 'disconnect' && old.op !== 'forget' && (old.op !== 'disconnect' || old.session !== e.session)) {
      this.defer(e);
      return;
    }
    if (old?.op === 'disconnect' && e.op !== 'forget' && e.op !== 'disconnect' && old.session !== e.session) {
      // A later entry of another stream goes first; the departure waits behind it, its pushes carried by it.
      this.defer({ ...old, pushes: 0 });
      e = { ...e, pushes: e.pushes + old.pushes };
      this.pending.delete(e.id);
      old = undefined;
    }
    const next = old === undefined ? e : merge(old, e);
    this.pending.set(e.id, next);
    if (acknowledges(next) && this.inStep.get(e.id) === next.session) this.urgent.delete(e.id);
    else this.urgent.add(e.id);
  }

  /** At most `max` entries (and REPORT_BUDGET_BYTES encoded), in the order agents first appeared. */
  take(max: number, budget: ByteBudget = new ByteBudget()): AgentReportEntry[] {
    const out: AgentReportEntry[] = [];
    for (const [id, e] of this.pending) {
      if (out.length >= max || !budget.take(encodedBytes(e))) break;
      out.push(e);
      this.pending.delete(id);
      this.urgent.delete(id);
      if (!acknowledges(e)) this.inStep.delete(id);
      else {
        // Bounded by the agents served; an agent gone elsewhere leaves its id until then.
        if (this.inStep.size >= MAX_IN_STEP && !this.inStep.has(id)) this.inStep.clear();
        this.inStep.set(id, e.session);
      }
    }
    // A departure whose agent's entry went in this report goes in the next (one per agent per report).
    for (const [id, waiting] of this.deferred) {
      if (this.pending.has(id)) continue;
      const first = waiting.entries().next();
      if (first.done === true) {
        this.deferred.delete(id);
        continue;
      }
      const [session, d] = first.value;
      waiting.delete(session);
      if (waiting.size === 0) this.deferred.delete(id);
      this.pending.set(id, d);
      this.urgent.add(id);
    }
    return out;
  }

  /** A departure waits behind its agent's pending entry; one of the same stream already waiting takes its pushes. */
  private defer(d: AgentReportEntry): void {
    let waiting = this.deferred.get(d.id);
    if (waiting === undefined) this.deferred.set(d.id, (waiting = new Map()));
    const same = waiting.get(d.session);
    waiting.set(d.session, same === undefined ? d : withPushes(d, pushesOf(same) + pushesOf(d)));
  }
}

/** Agents remembered as in step; past it all are forgotten (their next ACK goes unpaced once). */
const MAX_IN_STEP = 100_000;

/** A sync that says only "acknowledged what it was last sent". */
export function acknowledges(e: AgentReportEntry): e is AgentReportEntry & { readonly op: 'sync' } {
  return e.op === 'sync' && e.sync.sentVersion !== null && e.sync.ackedVersion === e.sync.sentVersion && e.sync.nackedVersion === null;
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
