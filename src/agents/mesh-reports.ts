/**
 * What a controller has to tell the mesh kind about its agents (and, leading, about endpoint
 * health and expiry), collected between reports. One report at a time is in flight (the driver
 * retries it as it was until it commits); what arrives meanwhile goes into the next one.
 *
 * - publishes: an agent's whole declaration, the latest per agent;
 * - misses (`/resolve` of a name not in the agent's configuration): sent at once, so a lazy
 *   agent gets a new dependency within one commit and one push;
 * - uses of observed dependencies: sent in batches, at most once per `usageFlushMs` (a quarter of
 *   the TTL), since they only postpone an expiry;
 * - health (agents whose endpoints disagree with their committed status), expiry, and agents whose
 *   records are forgotten (their declarations and endpoints go too): the leader's.
 *
 * Bounded: at most MAX_USAGE_NAMES missed and used names held per agent, MAX_PENDING_AGENTS
 * agents with usage held; beyond that names are dropped and counted (an agent that reports
 * 10,000 names costs a bounded amount, and its record holds at most MAX_OBSERVED). A report
 * holds what fits REPORT_BUDGET_BYTES; the rest waits for the next one.
 */
import {
  MAX_REPORT_EXPIRIES,
  MAX_REPORT_HEALTH,
  MAX_REPORT_HOSTS,
  MAX_REPORT_PUBLISHES,
  MAX_REPORT_USAGE,
  MAX_USAGE_NAMES,
  type MeshReport,
  type PublishEntry,
  type UsageEntry,
} from '../statemachine/index.js';
import { ByteBudget, encodedBytes } from './report-budget.js';

export const MAX_PENDING_AGENTS = 10_000;

interface PendingUsage {
  readonly missed: Set<string>;
  readonly used: Set<string>;
}

export type MeshReportBody = Omit<MeshReport, 'at'>;

export class MeshReportQueue {
  private readonly publishes = new Map<string, PublishEntry>();
  private readonly usage = new Map<string, PendingUsage>();
  private readonly health = new Set<string>();
  private readonly forgets = new Set<string>();
  /** Agents' services unlisted for the leader's grace (mesh-duties.ts), to expire. */
  private readonly expiries = new Set<string>();
  private expire = false;
  /** Agents whose publish is in the report in flight. */
  private readonly publishing = new Set<string>();
  private readonly checkingHealth = new Set<string>();
  private readonly forgetting = new Set<string>();
  private readonly expiringServices = new Set<string>();
  private expiring = false;
  private inFlight = false;
  private nextUseFlushAt = Number.NEGATIVE_INFINITY;
  /** Names dropped by the bounds, ever. */
  dropped = 0;

  constructor(private readonly self: string) {}

  publish(e: PublishEntry): void {
    this.publishes.set(e.agent, e);
  }

  /** A publish for `agent` is queued or in flight: no need to plan another. */
  publishPending(agent: string): boolean {
    return this.publishes.has(agent) || this.publishing.has(agent);
  }

  missed(agent: string, name: string): void {
    const u = this.usageOf(agent);
    if (u === null || u.missed.has(name)) return;
    if (u.missed.size >= MAX_USAGE_NAMES) this.dropped++;
    else u.missed.add(name);
  }

  used(agent: string, name: string): void {
    const u = this.usageOf(agent);
    if (u === null || u.used.has(name)) return;
    if (u.used.size >= MAX_USAGE_NAMES) this.dropped++;
    else u.used.add(name);
  }

  /** A name this agent already missed (queued, not yet committed): a repeat costs nothing. */
  hasMissed(agent: string, name: string): boolean {
    return this.usage.get(agent)?.missed.has(name) === true;
  }

  checkHealth(agent: string): void {
    if (this.health.size < MAX_REPORT_HEALTH) this.health.add(agent);
  }

  healthPending(agent: string): boolean {
    return this.health.has(agent) || this.checkingHealth.has(agent);
  }

  /** The agents kind has no record of `agent`: drop its declaration and endpoints (leader). */
  forget(agent: string): void {
    if (this.forgets.size < MAX_REPORT_HEALTH) this.forgets.add(agent);
  }

  forgetPending(agent: string): boolean {
    return this.forgets.has(agent) || this.forgetting.has(agent);
  }

  /** No agent has listed the published service for the grace: remove it (leader; apply checks again). */
  expireService(name: string): void {
    if (this.expiries.size < MAX_REPORT_EXPIRIES) this.expiries.add(name);
  }

  serviceExpiryPending(name: string): boolean {
    return this.expiries.has(name) || this.expiringServices.has(name);
  }

  requestExpiry(): void {
    this.expire = true;
  }

  get expiryPending(): boolean {
    return this.expire || this.expiring;
  }

  /** Whether a report should be sent now: something urgent, or uses whose batch is due. */
  due(now: number): boolean {
    if (this.inFlight) return false;
    if (this.publishes.size > 0 || this.health.size > 0 || this.forgets.size > 0 || this.expiries.size > 0 || this.expire) return true;
    let uses = false;
    for (const u of this.usage.values()) {
      if (u.missed.size > 0) return true;
      if (u.used.size > 0) uses = true;
    }
    return uses && now >= this.nextUseFlushAt;
  }

  /** The next report (bounded), now in flight; null when there is nothing to send. */
  take(now: number, usageFlushMs: number): MeshReportBody | null {
    if (this.inFlight) return null;
    const budget = new ByteBudget();
    const publish: PublishEntry[] = [];
    let hosts = 0;
    for (const [agent, e] of this.publishes) {
      if (publish.length >= MAX_REPORT_PUBLISHES || hosts + e.hosts.length > MAX_REPORT_HOSTS || !budget.take(encodedBytes(e))) break;
      publish.push(e);
      hosts += e.hosts.length;
      this.publishes.delete(agent);
      this.publishing.add(agent);
    }
    const flushUses = now >= this.nextUseFlushAt;
    const usage: UsageEntry[] = [];
    for (const [agent, u] of this.usage) {
      if (usage.length >= MAX_REPORT_USAGE) break;
      if (u.missed.size === 0 && !(flushUses && u.used.size > 0)) continue;
      const entry: UsageEntry = { agent, missed: [...u.missed].sort(), used: flushUses ? [...u.used].sort() : [] };
      if (!budget.take(encodedBytes(entry))) break;
      usage.push(entry);
      u.missed.clear();
      if (flushUses) u.used.clear();
      if (u.used.size === 0) this.usage.delete(agent);
    }
    if (flushUses && usage.some((u) => u.used.length > 0)) this.nextUseFlushAt = now + usageFlushMs;
    const health = takeNames(this.health, this.checkingHealth, budget);
    const forget = takeNames(this.forgets, this.forgetting, budget);
    const expireServices = takeNames(this.expiries, this.expiringServices, budget);
    const expire = this.expire;
    this.expire = false;
    this.expiring = expire;
    if (publish.length === 0 && usage.length === 0 && health.length === 0 && forget.length === 0 && expireServices.length === 0 && !expire) {
      this.checkingHealth.clear();
      return null;
    }
    this.inFlight = true;
    // No `forget` or `expireServices` field unless there is something in it: a member older than the field never meets it.
    return {
      kind: 'mesh',
      op: 'report',
      controller: this.self,
      publish,
      usage,
      health,
      expire,
      ...(forget.length > 0 ? { forget } : {}),
      ...(expireServices.length > 0 ? { expireServices } : {}),
    };
  }

  /** The report in flight committed (or was given up): its publishes and checks are no longer pending. */
  done(): void {
    this.inFlight = false;
    this.publishing.clear();
    this.checkingHealth.clear();
    this.forgetting.clear();
    this.expiringServices.clear();
    this.expiring = false;
  }

  get size(): number {
    return this.publishes.size + this.usage.size + this.health.size + this.forgets.size + this.expiries.size + (this.expire ? 1 : 0);
  }

  private usageOf(agent: string): PendingUsage | null {
    let u = this.usage.get(agent);
    if (u === undefined) {
      if (this.usage.size >= MAX_PENDING_AGENTS) {
        this.dropped++;
        return null;
      }
      this.usage.set(agent, (u = { missed: new Set(), used: new Set() }));
    }
    return u;
  }
}

/** Agent ids from `pending`, sorted, while they fit the budget; moved to `inFlight`, the rest left pending. */
function takeNames(pending: Set<string>, inFlight: Set<string>, budget: ByteBudget): string[] {
  const out: string[] = [];
  for (const a of [...pending].sort()) {
    if (!budget.take(encodedBytes(a) + 1)) break;
    out.push(a);
    pending.delete(a);
    inFlight.add(a);
  }
  return out;
}
