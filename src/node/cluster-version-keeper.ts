/**
 * Keeps the cluster version (src/statemachine/cluster-version.ts) in step with the software the
 * members run, and stops a controller whose software is older than the cluster.
 *
 * The leader raises the version to the lowest `MAJOR.MINOR` its Raft configuration's members
 * advertise (their membership views carry their software version), and only once it has heard
 * every one of them: a member not heard from may run anything. A rolling upgrade therefore raises
 * it once, when the last member runs the new software. It is never proposed lower.
 *
 * Every node compares the committed version with its own software: a cluster above it may
 * commit entries this build cannot apply as the others do, so the node stops (the fatal path,
 * exit 1) rather than diverge. Pure logic: the caller calls check() after every applied batch,
 * on every change of leader, and on a regular tick (an idle cluster applies nothing).
 */
import type { Logger } from 'pino';
import { BASE_CLUSTER_VERSION, clusterVersionOf, compareClusterVersions, isClusterVersion, type ClusterView } from '../statemachine/cluster-version.js';

export interface ClusterVersionKeeperDeps {
  /** This controller's software version (VERSION). */
  readonly software: string;
  readonly view: () => ClusterView;
  readonly isLeader: () => boolean;
  /** The voters and learners of the Raft configuration this node has applied. */
  readonly configuration: () => readonly string[];
  /** Each member's software version as heard (this node's own included); null or absent: not heard. */
  readonly advertised: () => ReadonlyMap<string, string | null>;
  /** Proposes `{kind:'cluster', op:'set-version'}`; resolves once applied, rejects when not committed. */
  readonly proposeVersion: (version: string) => Promise<void>;
  /** Stops this controller; called once. */
  readonly onTooOld: (err: ClusterTooNewError) => void;
  readonly logger: Logger;
  /** A monotonic clock, in ms: how long a raise has waited on members not heard from. */
  readonly now: () => number;
}

/**
 * How long a raise may wait on members not heard from before the leader says so: a member being
 * restarted in a rolling upgrade is unheard for seconds, a learner added and never started (or a
 * member down for good) for ever, and the version then stayed where it was without a word.
 */
export const UNHEARD_WARN_AFTER_MS = 60_000;

/**
 * The members not heard from when they alone hold the version at `current`: every member heard
 * runs a level above it (the lowest of those is `above`). Null when a heard member holds it too,
 * or when every member was heard.
 */
export function unheardHolders(members: readonly string[], advertised: ReadonlyMap<string, string | null>, current: string): { readonly unheard: readonly string[]; readonly above: string } | null {
  const unheard: string[] = [];
  let above: string | null = null;
  for (const member of members) {
    const software = advertised.get(member) ?? null;
    if (software === null) {
      unheard.push(member);
      continue;
    }
    const level = clusterVersionOf(software);
    if (level === null || compareClusterVersions(level, current) <= 0) return null;
    if (above === null || compareClusterVersions(level, above) < 0) above = level;
  }
  return unheard.length === 0 || above === null ? null : { unheard, above };
}

/** The cluster runs at a version above this controller's software. */
export class ClusterTooNewError extends Error {
  constructor(
    readonly clusterVersion: string,
    readonly software: string,
  ) {
    super(
      `the cluster version is ${clusterVersion} but this controller runs ${software} (cluster version ${clusterVersionOf(software) ?? '?'}): ` +
        `it cannot safely apply the cluster's entries; upgrade this controller's software to ${clusterVersion}.0 or later and start it again`,
    );
    this.name = 'ClusterTooNewError';
  }
}

/**
 * The rise to audit, if any: the committed version against the last one this controller recorded
 * (an audit mark, so a restart or a replay records nothing twice; unreadable counts as none).
 */
export function versionRise(committed: string, recorded: string | undefined): { readonly from: string; readonly to: string } | null {
  const from = recorded !== undefined && isClusterVersion(recorded) ? recorded : BASE_CLUSTER_VERSION;
  return compareClusterVersions(committed, from) > 0 ? { from, to: committed } : null;
}

/** What the members' advertised versions allow the cluster version to be. */
export type LowestVersion =
  | { readonly kind: 'lowest'; readonly version: string }
  | { readonly kind: 'unheard'; readonly member: string }
  | { readonly kind: 'unparseable'; readonly member: string; readonly software: string };

/** The lowest `MAJOR.MINOR` among `members`, or why there is none yet. */
export function lowestClusterVersion(members: readonly string[], advertised: ReadonlyMap<string, string | null>): LowestVersion {
  let lowest: string | null = null;
  for (const member of members) {
    const software = advertised.get(member) ?? null;
    if (software === null) return { kind: 'unheard', member };
    const level = clusterVersionOf(software);
    if (level === null) return { kind: 'unparseable', member, software };
    if (lowest === null || compareClusterVersions(level, lowest) < 0) lowest = level;
  }
  // No members: nobody to ask, so nothing to raise to.
  return lowest === null ? { kind: 'unheard', member: '' } : { kind: 'lowest', version: lowest };
}

export class ClusterVersionKeeper {
  /** This build's `MAJOR.MINOR`. */
  readonly own: string;
  private proposing = false;
  private stopped = false;
  private readonly warned = new Set<string>();
  /** Since when a raise has waited only on members not heard from; null: it does not. */
  private unheardSince: number | null = null;
  /** The members warned of in the wait under way (sorted, joined), so each wait is said once. */
  private unheardWarned = '';

  constructor(private readonly deps: ClusterVersionKeeperDeps) {
    const own = clusterVersionOf(deps.software);
    // A build bug, not an operator's: VERSION is a constant kept in step with package.json.
    if (own === null) throw new RangeError(`software version ${JSON.stringify(deps.software)} has no MAJOR.MINOR.PATCH form`);
    this.own = own;
  }

  /** Call after every applied batch, on every change of leader, and on a regular tick. */
  check(): void {
    if (this.stopped) return;
    const current = this.deps.view().version;
    if (compareClusterVersions(current, this.own) > 0) {
      this.stop(current);
      return;
    }
    // The lowest member is at most this leader itself: at our own level there is nothing to
    // raise, which spares the steady state the look at every member.
    if (this.proposing || compareClusterVersions(current, this.own) >= 0 || !this.deps.isLeader()) {
      // A new leader counts afresh: it has heard nobody yet.
      if (!this.proposing) this.unheardDone();
      return;
    }
    const members = this.deps.configuration();
    const advertised = this.deps.advertised();
    const lowest = lowestClusterVersion(members, advertised);
    if (lowest.kind === 'unparseable') {
      this.warnOnce(lowest.member, lowest.software);
      return;
    }
    if (lowest.kind === 'unheard') {
      this.noteUnheard(current, unheardHolders(members, advertised, current));
      return;
    }
    this.unheardDone();
    if (compareClusterVersions(lowest.version, current) <= 0) return;
    this.raise(current, lowest.version);
  }

  /**
   * The raise no longer waits on members not heard from alone: a later wait, even on the same
   * members (one started with an old build and stopped again, or down again after the next
   * upgrade), is timed and said afresh.
   */
  private unheardDone(): void {
    this.unheardSince = null;
    this.unheardWarned = '';
  }

  /** Says once, after UNHEARD_WARN_AFTER_MS, which members not heard from alone hold the version. */
  private noteUnheard(current: string, holders: ReturnType<typeof unheardHolders>): void {
    if (holders === null) {
      this.unheardDone();
      return;
    }
    const now = this.deps.now();
    this.unheardSince ??= now;
    const waited = now - this.unheardSince;
    const key = [...holders.unheard].sort().join(',');
    if (waited < UNHEARD_WARN_AFTER_MS || key === this.unheardWarned) return;
    this.unheardWarned = key;
    const names = holders.unheard.join(', ');
    const one = holders.unheard.length === 1;
    this.deps.logger.warn(
      { code: 'CLUSTER_VERSION_WAITS', clusterVersion: current, unheard: holders.unheard, above: holders.above },
      `the cluster version stays at ${current} although every member heard from runs ${holders.above} or later: ${names} ${one ? 'has' : 'have'} not been heard ` +
        `from in ${Math.round(waited / 1000)}s of this controller's leadership (a learner added and never started, or a member that is down), and the software ` +
        `${one ? 'it runs' : 'they run'} is unknown. Start ${one ? 'it' : 'them'}, or remove any that is gone for good (ctl member remove ID): the version rises ` +
        'once every member of the configuration has been heard',
    );
  }

  private raise(from: string, to: string): void {
    this.proposing = true;
    this.deps.proposeVersion(to).then(
      () => {
        this.proposing = false;
        // Resolved once applied here: the view says whether this entry raised it.
        const now = this.deps.view().version;
        if (compareClusterVersions(now, from) > 0) this.deps.logger.info({ from, to: now }, `cluster version raised from ${from} to ${now}`);
      },
      (err: unknown) => {
        // Lost leadership or timed out: the next check (here or on the next leader) tries again.
        this.proposing = false;
        this.deps.logger.debug({ err, version: to }, 'cluster version not raised yet');
      },
    );
  }

  private stop(cluster: string): void {
    this.stopped = true;
    const err = new ClusterTooNewError(cluster, this.deps.software);
    this.deps.logger.error({ clusterVersion: cluster, software: this.deps.software }, err.message);
    this.deps.onTooOld(err);
  }

  private warnOnce(member: string, software: string): void {
    const key = `${member}\u0000${software}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.deps.logger.warn(
      { member, software },
      `member ${member} advertises software version ${JSON.stringify(software)}, which has no MAJOR.MINOR.PATCH form: the cluster version stays where it is`,
    );
  }
}
