/**
 * The peers refusing this running node's messages over its cluster name (CLUSTER_NAME), kept
 * so that its cut-off reason can say why no quorum hears it: the refusals alone go to its log at
 * warning level, and the reason otherwise read only "heard from 1 of 3 voters" (round 6's F2, a
 * member started with an edited cluster.name while too few peers were up to refuse its start,
 * name-refusal.ts). Unlike a second process, one refusal proves it: a peer judges the name
 * before anything else. Deterministic: time comes in.
 */
import { theirNameIn, type NameRefusal } from './name-refusal.js';

/** Peers kept at most: ids come from the file or the members, but stay bounded anyway. */
const MAX_PEERS = 64;

export class NameRefusers {
  private readonly last = new Map<string, { readonly theirs: string | null; readonly at: number }>();

  /** @param windowMs a refusal counts as current this long; a refused node retries far more often. */
  constructor(private readonly windowMs: number) {}

  /** `peer` refused this node's message: `reason`, as the peer wrote it (`... expected "THEIRS" ...`). */
  refusedBy(peer: string, reason: string, now: number): void {
    this.last.delete(peer);
    this.last.set(peer, { theirs: theirNameIn(reason), at: now });
    if (this.last.size > MAX_PEERS) this.last.delete(this.last.keys().next().value ?? '');
  }

  /** The peers that refused this node's name within the window, in id order. */
  refusing(now: number): NameRefusal[] {
    return [...this.last]
      .filter(([, r]) => now - r.at <= this.windowMs)
      .map(([peer, r]) => ({ peer, theirs: r.theirs }))
      .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }

  /** Forgets peers `keep` says no longer are. */
  retain(keep: (id: string) => boolean): void {
    for (const id of this.last.keys()) if (!keep(id)) this.last.delete(id);
  }
}

/** Why `self` is not heard, when `refusals` refuse its cluster.name `ours`; '' when none do. */
export function describeRefusedForName(self: string, ours: string, refusals: readonly NameRefusal[]): string {
  if (refusals.length === 0) return '';
  const names = [...new Set(refusals.map((r) => (r.theirs === null ? 'another name' : JSON.stringify(r.theirs))))];
  const peers = refusals.map((r) => r.peer).join(', ');
  return (
    `${peers} refuse${refusals.length === 1 ? 's' : ''} it as CLUSTER_NAME: ${self}'s file names the cluster ${JSON.stringify(ours)}, ` +
    `${refusals.length === 1 ? 'it runs' : 'they run'} ${names.join(', ')} (give ${self} the cluster's file and restart it)`
  );
}
