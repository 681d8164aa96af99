/**
 * What each agent declared (lazy or not, the services it hosts, its static dependencies) and the
 * dependencies observed for it (names it resolved and did not have), as the mesh kind keeps them:
 * replicated, so they survive restarts and leader changes (lazyxds and slime keep them in one
 * controller's memory and lose them on a restart).
 *
 * An agent's *names* are its hosts, its static dependencies and its observed dependencies. A lazy
 * agent's configuration is the services of its names that exist and the routes whose both ends
 * are among them. `revision` is the cluster revision at which that configuration last changed:
 * its version. Every change that reaches an agent's configuration stamps it (touch*), so a change
 * outside the names of an agent leaves its version, and so its pushes, alone.
 *
 * Observed dependencies age in log time: unused for one `agents.dependency_ttl` they are
 * expiring, for two they are expired (removed). Static ones never expire.
 */
import { AGENT_ID_PATTERN, RESOURCE_NAME_PATTERN } from './mesh-types.js';
import { declarationLength } from './mesh-size.js';
import { NO_MARKS, marksJson, parseMarks, type RefusalMarks } from './refusal-marks.js';

/** Observed dependencies an agent may hold; names beyond are ignored (and counted). */
export const MAX_OBSERVED = 256;

export interface ObservedDependency {
  /** Log time (ms) it was first observed. */
  readonly since: number;
  /** Log time of its last use (a /resolve hit or miss reported for it). */
  readonly lastUsed: number;
  /** Unused for one TTL window; expired (removed) at two. */
  readonly expiring: boolean;
}

export interface AgentDeclarationView {
  readonly agent: string;
  readonly lazy: boolean;
  /** Names of the services it publishes, sorted. */
  readonly hosts: readonly string[];
  /** Its static dependencies, sorted. */
  readonly dependencies: readonly string[];
  /** Observed dependencies by name (iterate `observedNames` for a sorted order). */
  readonly observed: ReadonlyMap<string, ObservedDependency>;
  readonly observedNames: readonly string[];
  /** The revision at which this agent's configuration last changed. */
  readonly revision: number;
  /** Publish entries of this agent that reached the log, and those of them that advanced the revision. */
  readonly publishWrites: number;
  readonly publishRevisions: number;
  /** From REFUSALS_ONCE_VERSION, the cause each service it was refused was audited for (refusal-marks.ts); empty below. */
  readonly refused: RefusalMarks;
}

export class AgentDeclaration implements AgentDeclarationView {
  lazy = false;
  hosts: readonly string[] = [];
  dependencies: readonly string[] = [];
  readonly observed = new Map<string, ObservedDependency>();
  revision = 0;
  publishWrites = 0;
  publishRevisions = 0;
  /** Set through DeclarationBook.markRefused, which measures the record again. */
  refused: RefusalMarks = NO_MARKS;

  constructor(readonly agent: string) {}

  get observedNames(): readonly string[] {
    return [...this.observed.keys()].sort();
  }

  /** Every name whose service (and routes) belong to this agent's configuration. */
  names(): Set<string> {
    return new Set([...this.hosts, ...this.dependencies, ...this.observed.keys()]);
  }

  /** Declared as a static dependency or a hosted service: never observed, never expires. */
  declares(name: string): boolean {
    return this.hosts.includes(name) || this.dependencies.includes(name);
  }
}

/**
 * The declarations and the reverse index (name -> agents that have it among their names) that
 * finds the agents a change reaches.
 */
export class DeclarationBook {
  private readonly byAgent = new Map<string, AgentDeclaration>();
  /** Derived: name -> agents with it among their names. */
  private readonly dependents = new Map<string, Set<string>>();
  private nextDue: { readonly ttl: number; readonly at: number | null } | null = null;
  /** Derived: service name -> agents that list it as hosted (what expiry of published services asks). */
  private readonly hosting = new Map<string, Set<string>>();
  /** Derived: agent -> the hosts it is indexed under in `hosting`. */
  private readonly indexedHosts = new Map<string, readonly string[]>();
  /** Agent -> declarationLength, and their sum: the snapshot's `agents` bounded at no cost. */
  private readonly lengths = new Map<string, number>();
  private lengthSum = 0;

  get size(): number {
    return this.byAgent.size;
  }

  /** An upper bound of `JSON.stringify(snapshot())`'s length. */
  snapshotLength(): number {
    return 2 + this.lengthSum;
  }

  get(agent: string): AgentDeclaration | null {
    return this.byAgent.get(agent) ?? null;
  }

  /** The record of `agent`, created empty (non-lazy, nothing declared) when new. */
  open(agent: string): AgentDeclaration {
    let d = this.byAgent.get(agent);
    if (d === undefined) {
      this.byAgent.set(agent, (d = new AgentDeclaration(agent)));
      this.measure(d);
    }
    return d;
  }

  /** Drops `agent`'s declaration and its names from the index. */
  remove(agent: string): boolean {
    const d = this.byAgent.get(agent);
    if (d === undefined) return false;
    for (const n of d.names()) this.unindex(n, agent);
    this.indexHosts(agent, []);
    this.byAgent.delete(agent);
    this.lengthSum -= this.lengths.get(agent) ?? 0;
    this.lengths.delete(agent);
    this.nextDue = null;
    return true;
  }

  /** Agents sorted by id: the order every replica walks them in. */
  sorted(): AgentDeclaration[] {
    return [...this.byAgent.values()].sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  }

  /** Whether some agent lists service `name` as hosted (refused or not). */
  hosted(name: string): boolean {
    return this.hosting.has(name);
  }

  /** Agents that list service `name` as hosted (refused or not). */
  hostersOf(name: string): ReadonlySet<string> {
    return this.hosting.get(name) ?? EMPTY;
  }

  /** Agents with `name` among their names. */
  dependentsOf(name: string): ReadonlySet<string> {
    return this.dependents.get(name) ?? EMPTY;
  }

  /** Stamps `revision` on every agent whose configuration holds service `name`. */
  touchService(name: string, revision: number): void {
    for (const agent of this.dependentsOf(name)) this.byAgent.get(agent)!.revision = revision;
  }

  /** Stamps `revision` on every agent whose configuration holds a route between `a` and `b`. */
  touchRoute(a: string, b: string, revision: number): void {
    const other = this.dependentsOf(b);
    for (const agent of this.dependentsOf(a)) if (other.has(agent)) this.byAgent.get(agent)!.revision = revision;
  }

  /** Call after changing what `d` declares or observes: re-indexes its names. */
  reindex(d: AgentDeclaration, before: ReadonlySet<string>): void {
    const after = d.names();
    for (const n of before) if (!after.has(n)) this.unindex(n, d.agent);
    for (const n of after) if (!before.has(n)) this.index(n, d.agent);
    this.indexHosts(d.agent, d.hosts);
    this.measure(d);
    this.nextDue = null;
  }

  /** The refusals of `d` the log audited, as its last publish leaves them (refusal-marks.ts). */
  markRefused(d: AgentDeclaration, marks: RefusalMarks): void {
    if (d.refused.size === 0 && marks.size === 0) return;
    d.refused = marks;
    this.measure(d);
  }

  /** Every change of what a record lists goes through open, reindex or markRefused, and so through here. */
  private measure(d: AgentDeclaration): void {
    const n = declarationLength(d);
    this.lengthSum += n - (this.lengths.get(d.agent) ?? 0);
    this.lengths.set(d.agent, n);
  }

  /** Observed dependencies changed without a change of names (use, expiring marks). */
  agesChanged(): void {
    this.nextDue = null;
  }

  /** The earliest log time at which some observed dependency turns expiring or expired; null: none will. */
  nextExpiryAt(ttlMs: number): number | null {
    if (this.nextDue !== null && this.nextDue.ttl === ttlMs) return this.nextDue.at;
    let at: number | null = null;
    for (const d of this.byAgent.values()) {
      for (const o of d.observed.values()) {
        const due = o.lastUsed + (o.expiring ? 2 * ttlMs : ttlMs);
        if (at === null || due < at) at = due;
      }
    }
    this.nextDue = { ttl: ttlMs, at };
    return at;
  }

  private indexHosts(agent: string, hosts: readonly string[]): void {
    const old = this.indexedHosts.get(agent) ?? [];
    if (old === hosts) return;
    for (const n of old) {
      const set = this.hosting.get(n);
      set?.delete(agent);
      if (set?.size === 0) this.hosting.delete(n);
    }
    for (const n of hosts) {
      let set = this.hosting.get(n);
      if (set === undefined) this.hosting.set(n, (set = new Set()));
      set.add(agent);
    }
    if (hosts.length === 0) this.indexedHosts.delete(agent);
    else this.indexedHosts.set(agent, hosts);
  }

  private index(name: string, agent: string): void {
    let set = this.dependents.get(name);
    if (set === undefined) this.dependents.set(name, (set = new Set()));
    set.add(agent);
  }

  private unindex(name: string, agent: string): void {
    const set = this.dependents.get(name);
    set?.delete(agent);
    if (set?.size === 0) this.dependents.delete(name);
  }

  snapshot(): unknown[] {
    return this.sorted().map((d) => ({
      agent: d.agent,
      lazy: d.lazy,
      hosts: [...d.hosts],
      dependencies: [...d.dependencies],
      observed: d.observedNames.map((n) => {
        const o = d.observed.get(n)!;
        return [n, o.since, o.lastUsed, o.expiring];
      }),
      revision: d.revision,
      publishWrites: d.publishWrites,
      publishRevisions: d.publishRevisions,
      // Only when some: none below REFUSALS_ONCE_VERSION, whose members refuse the field.
      ...(d.refused.size === 0 ? {} : { refused: marksJson(d.refused) }),
    }));
  }

  /** Loads a snapshot's records (already checked by the caller for shape, see parseDeclaration). */
  restore(records: readonly AgentDeclaration[]): void {
    for (const d of records) {
      this.byAgent.set(d.agent, d);
      for (const n of d.names()) this.index(n, d.agent);
      this.indexHosts(d.agent, d.hosts);
      this.measure(d);
    }
    this.nextDue = null;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** A record of a snapshot, checked field by field; `fail` throws. */
export function parseDeclaration(value: unknown, fail: (m: string) => never): AgentDeclaration {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected an object');
  const v = value as Record<string, unknown>;
  const keys = ['agent', 'lazy', 'hosts', 'dependencies', 'observed', 'revision', 'publishWrites', 'publishRevisions', 'refused'];
  for (const k of Object.keys(v)) if (!keys.includes(k)) fail(`unexpected field "${k}"`);
  const agent = v['agent'];
  if (typeof agent !== 'string' || !AGENT_ID_PATTERN.test(agent)) fail('field "agent" must be an agent id');
  const d = new AgentDeclaration(agent);
  if (typeof v['lazy'] !== 'boolean') fail('field "lazy" must be a boolean');
  d.lazy = v['lazy'];
  d.hosts = names(v['hosts'], 'hosts', fail);
  d.dependencies = names(v['dependencies'], 'dependencies', fail);
  const observed = v['observed'];
  if (!Array.isArray(observed) || observed.length > MAX_OBSERVED) fail(`field "observed" must be a list of at most ${MAX_OBSERVED}`);
  for (const item of observed as readonly unknown[]) {
    if (!Array.isArray(item) || item.length !== 4) fail('observed: expected [name, since, lastUsed, expiring]');
    const [name, since, lastUsed, expiring] = item as readonly unknown[];
    if (typeof name !== 'string' || !RESOURCE_NAME_PATTERN.test(name) || d.observed.has(name)) fail(`observed: bad or repeated name ${JSON.stringify(name)}`);
    if (!isTime(since) || !isTime(lastUsed) || typeof expiring !== 'boolean') fail(`observed ${name}: expected times and a flag`);
    d.observed.set(name, { since, lastUsed, expiring });
  }
  for (const k of ['revision', 'publishWrites', 'publishRevisions'] as const) {
    if (!isTime(v[k])) fail(`field "${k}" must be a whole number`);
  }
  d.revision = v['revision'] as number;
  d.publishWrites = v['publishWrites'] as number;
  d.publishRevisions = v['publishRevisions'] as number;
  if (v['refused'] !== undefined) d.refused = parseMarks(v['refused'], fail);
  return d;
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function names(value: unknown, field: string, fail: (m: string) => never): readonly string[] {
  if (!Array.isArray(value)) fail(`field "${field}" must be a list`);
  const list = value as readonly unknown[];
  for (const [i, n] of list.entries()) {
    if (typeof n !== 'string' || !RESOURCE_NAME_PATTERN.test(n)) fail(`${field}[${i}]: expected a service name`);
    if (i > 0 && !((list[i - 1] as string) < n)) fail(`field "${field}" must be sorted without repeats`);
  }
  return list as readonly string[];
}
