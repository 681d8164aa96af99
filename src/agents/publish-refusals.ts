/**
 * Which of an agent's refused hosts are new, for the publish gate (publish-gate.ts): counted,
 * warned and audited once per refusal, not once per connection. A stream's later check that
 * refuses a service its earlier checks did not (another service's refusal, or the one an
 * operator deleted, under services.agent_publish declared) is a new refusal and is not silent;
 * the same refusal at every reconcile round is not a log flood.
 *
 * - Counted (agents_publishes_*_total) once per refused service per publish: when a stream's
 *   hello is first checked, and again when a later check of it refuses a service for a cause its
 *   previous check did not (Session.refusalsCounted).
 * - Warned and audited once per agent per service and cause until that changes (here, per
 *   controller): a reconnect with the same refusal is counted but not warned again; a service
 *   that stops being refused and is refused again later is. A refusal the log audited (a
 *   committed publish.refused, every controller audits those) is not audited again here.
 *
 * Part of the hub's deterministic core: no time, no I/O. Bounded by the agent records (an
 * agent's entry goes with its record) and each agent's hosts: what its checks here refuse, or,
 * for an agent served elsewhere, the names its committed declaration lists (keepListed).
 */
import type { RefusalCause } from '../statemachine/index.js';

export interface Refusal {
  readonly name: string;
  readonly cause: RefusalCause;
  readonly reason: string;
}

/** Null: the log audited it (a committed publish.refused), its cause not known here. */
type Told = RefusalCause | null;

export class PublishRefusals {
  private readonly told = new Map<string, Map<string, Told>>();

  /**
   * The refusals among `refused` to warn of and audit: those not told for this agent with the
   * same cause (one the log audited counts as told, whatever its cause, and from then on is
   * told with the cause this check sees: a later change of cause, such as an operator's delete
   * of a service whose write took the agent off, is new). Forgets the agent's services that are
   * no longer refused, so a later refusal of one is new again.
   */
  toTell(agent: string, refused: readonly Refusal[]): Refusal[] {
    const before = this.told.get(agent);
    const now = new Map<string, Told>();
    const fresh: Refusal[] = [];
    for (const r of refused) {
      const was = before?.get(r.name);
      if (was === undefined || (was !== null && was !== r.cause)) fresh.push(r);
      now.set(r.name, r.cause);
    }
    if (now.size === 0) this.told.delete(agent);
    else this.told.set(agent, now);
    return fresh;
  }

  /** A committed publish.refused: every controller audited it; this one does not again. */
  auditedByLog(agent: string, service: string): void {
    let m = this.told.get(agent);
    if (m === undefined) this.told.set(agent, (m = new Map()));
    m.set(service, null);
  }

  /**
   * Of an agent not served here (no check of it rebuilds its entry), after a commit of its
   * publish: keeps only the services its committed declaration lists (an agent cycling through
   * names it may not publish had every other controller remember each name ever refused, until
   * its record went), and counts as told every listed one its record marks refused, with the
   * cause marked. A publish's refusals past the ones the log audits one by one are audited in one
   * transition naming the first of them only (refusal-marks.ts); the record's marks cover them
   * all, so an agent that took the same publish to this controller was not audited here again for
   * those the transition left unnamed.
   */
  keepListed(agent: string, listed: ReadonlySet<string>, marked: ReadonlyMap<string, RefusalCause> = new Map()): void {
    let m = this.told.get(agent);
    for (const [name, cause] of marked) {
      if (!listed.has(name)) continue;
      if (m === undefined) this.told.set(agent, (m = new Map()));
      m.set(name, cause);
    }
    if (m === undefined) return;
    for (const name of [...m.keys()]) if (!listed.has(name)) m.delete(name);
    if (m.size === 0) this.told.delete(agent);
  }

  /** The agent's record is gone: so is what was told of it. */
  forget(agent: string): void {
    this.told.delete(agent);
  }

  /** How many refusals are remembered, over every agent (a bound tests check). */
  get size(): number {
    let n = 0;
    for (const m of this.told.values()) n += m.size;
    return n;
  }
}

/**
 * The refusals to count: those the stream's previous check (`before`) did not refuse for the
 * same cause. Returns them and the map for the next check.
 */
export function newlyRefused(before: ReadonlyMap<string, RefusalCause>, refused: readonly Refusal[]): { fresh: Refusal[]; standing: Map<string, RefusalCause> } {
  const fresh = refused.filter((r) => before.get(r.name) !== r.cause);
  return { fresh, standing: new Map(refused.map((r) => [r.name, r.cause])) };
}
