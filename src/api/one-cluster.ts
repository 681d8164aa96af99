/**
 * One client's check that its endpoints are one cluster's. A client sends each request to the
 * first endpoint that answers, so a list mixing two clusters' controllers (a staging host among
 * production ones, $CTL_ENDPOINTS left over from another shell) sent a write to whichever
 * answered first, and reported it applied (attack round 15). Each answer names its cluster
 * (cluster-identity.ts); before a write, and a read that would show one cluster's data as
 * another's, the endpoints not heard from yet are asked, in parallel and within a bound, and
 * endpoints of two clusters refuse the request (exit 2), naming each cluster with its
 * endpoints. Endpoints that do not answer in time, or answer without an identity (an older
 * controller), are not judged.
 */
import { ApiError } from './errors.js';
import type { ClusterIdentity } from './cluster-identity.js';

/** Asks one endpoint for its cluster's identity; null when it has none to give. */
export type IdentityProbe = (endpoint: string) => Promise<ClusterIdentity | null>;

/** The request was not sent: the endpoints answer for different clusters. */
export class MixedClustersError extends ApiError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

function label(identity: ClusterIdentity): string {
  return identity.id === null ? identity.name : `${identity.name} (${identity.id})`;
}

/**
 * Each cluster named with its endpoints, in the order of `endpoints`, when they answer for more
 * than one; null otherwise. Two answers differ when their ids do, or, when one of them has no
 * id yet, when their names do (a member that has not learned the id yet is not another cluster).
 */
export function describeMixedClusters(endpoints: readonly string[], heard: ReadonlyMap<string, ClusterIdentity>): string | null {
  const answered = endpoints.flatMap((e) => {
    const identity = heard.get(e);
    return identity === undefined ? [] : [{ endpoint: e, identity }];
  });
  const ids = new Set(answered.flatMap((a) => (a.identity.id === null ? [] : [a.identity.id])));
  const names = new Set(answered.map((a) => a.identity.name));
  if (ids.size <= 1 && names.size <= 1) return null;
  const groups = new Map<string, string[]>();
  for (const a of answered) groups.set(label(a.identity), [...(groups.get(label(a.identity)) ?? []), a.endpoint]);
  return [...groups].map(([cluster, members]) => `${members.join(', ')} answer for cluster ${cluster}`).join('; ');
}

export interface OneClusterOptions {
  readonly endpoints: readonly string[];
  readonly probe: IdentityProbe;
  /** How long the endpoints not heard from may take to answer before they are left out. */
  readonly boundMs: number;
  /** Where the endpoints came from, for the message (`--endpoints`, `$CTL_ENDPOINTS`). */
  readonly source: string;
}

/** How long the other endpoints may still take once one has named its cluster, at most. */
export const GRACE_MS = 750;
/** ... and at least. */
export const MIN_GRACE_MS = 250;
/** The endpoints of one list are about as far away: the others get this many times the first answer's wait. */
export const GRACE_FACTOR = 4;

/**
 * The grace the other endpoints get once the first identity came `firstMs` after the probe
 * began (null: it was heard before, its wait unknown). A blackholed endpoint cost every write
 * 750 ms on loopback, where the others answer within milliseconds (operator round 17); a list
 * far away, whose first answer takes 190 ms, still gives the rest the whole 750.
 */
export function graceAfter(firstMs: number | null): number {
  if (firstMs === null) return GRACE_MS;
  return Math.min(GRACE_MS, Math.max(MIN_GRACE_MS, GRACE_FACTOR * firstMs));
}

export class OneClusterCheck {
  private readonly heard = new Map<string, ClusterIdentity>();
  /** The probe of the endpoints not heard from, run once per client. */
  private probed: Promise<void> | null = null;

  constructor(private readonly opts: OneClusterOptions) {}

  /** An answer from `endpoint` named its cluster (or named none: null). */
  record(endpoint: string, identity: ClusterIdentity | null): void {
    if (identity !== null) this.heard.set(endpoint, identity);
  }

  /** Resolves when the endpoints answer for one cluster as far as can be told; rejects (MixedClustersError) otherwise. */
  async check(request: string): Promise<void> {
    if (this.opts.endpoints.length < 2) return;
    this.probed ??= this.probeUnheard();
    await this.probed;
    const mixed = describeMixedClusters(this.opts.endpoints, this.heard);
    if (mixed !== null) {
      throw new MixedClustersError(`the endpoints belong to different clusters: ${mixed}; refusing to send ${request}, which would go to whichever answers first; give ${this.opts.source} the endpoints of one cluster`);
    }
  }

  /**
   * Asks the endpoints not heard from, until each has answered or failed, or `boundMs` has
   * passed, or the grace (graceAfter) has passed since the first identity came: a blackholed
   * endpoint (its SYN never answered) then costs a write the grace, not the whole bound, while
   * the endpoints that answer at all answer together.
   */
  private async probeUnheard(): Promise<void> {
    const unheard = this.opts.endpoints.filter((e) => !this.heard.has(e));
    const timers: NodeJS.Timeout[] = [];
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    timers.push(setTimeout(stop, this.opts.boundMs));
    let graceStarted = this.heard.size > 0;
    if (graceStarted) timers.push(setTimeout(stop, graceAfter(null)));
    const began = performance.now();
    const asked = Promise.all(
      unheard.map(async (e) => {
        const identity = await this.opts.probe(e).catch(() => null);
        this.record(e, identity);
        if (identity !== null && !graceStarted) {
          graceStarted = true;
          timers.push(setTimeout(stop, graceAfter(performance.now() - began)));
        }
      }),
    );
    try {
      await Promise.race([asked, stopped]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }
}
