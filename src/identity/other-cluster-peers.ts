/**
 * The peers of this node's cluster file or membership that answer for another cluster id than
 * its own: two live clusters under one cluster file (a restore run on more than one member, one
 * member restored while its peers were unreachable, the others started on their old data dirs:
 * attack round 10's B1). Each of them elects itself, acknowledges writes and calls itself
 * healthy, so what each node sees of the other must reach its status, health and metrics, not
 * only a warn-level log line per refusal. Fed by CLUSTER_ID refusals both ways and by the
 * answers of the file's peers to a periodic question (other-cluster-probe.ts); a peer accepted
 * again, gone from file and membership, or not seen for the window is forgotten.
 * Deterministic: time comes in.
 */

export interface OtherClusterPeer {
  readonly peer: string;
  /** The cluster id it answers for; null when its refusal did not say. */
  readonly clusterId: string | null;
  /** When it was first and last seen answering for it (the caller's clock). */
  readonly since: number;
  readonly lastSeenAt: number;
}

/** Peers kept at most: ids come from the file or the members, but stay bounded anyway. */
const MAX_PEERS = 64;

/** The id in a CLUSTER_ID refusal's reason: `... PEER belongs to cluster ID, ...` (acceptance.ts). */
const BELONGS = /\bbelongs to cluster ([0-9a-f]{16})\b/;

/** The refusing peer's own cluster id in a CLUSTER_ID refusal it sent; null when it does not say. */
export function refuserClusterIdIn(reason: string): string | null {
  return BELONGS.exec(reason)?.[1] ?? null;
}

/** `... mismatch: REFUSER belongs to cluster ID, ...` (acceptance.ts): the refuser names itself first. */
const REFUSER = /\bcluster id mismatch: (\S+) belongs to cluster [0-9a-f]{16}\b/;

/** The refusing peer's own member id in a CLUSTER_ID refusal it sent; null when it does not say. */
export function refuserIdIn(reason: string): string | null {
  return REFUSER.exec(reason)?.[1] ?? null;
}

export class OtherClusterPeers {
  private readonly peers = new Map<string, OtherClusterPeer>();

  /** @param windowMs evidence counts this long after it was last seen; a live split is seen far more often. */
  constructor(private readonly windowMs: number) {}

  /**
   * `peer` answers for `clusterId` (null: it did not say which), not this node's. True when that
   * is news: a peer not marked, or marked for another id; the caller reports it once.
   */
  seen(peer: string, clusterId: string | null, now: number): boolean {
    this.expire(now);
    const was = this.peers.get(peer);
    const id = clusterId ?? was?.clusterId ?? null;
    const news = was === undefined || (clusterId !== null && clusterId !== was.clusterId);
    this.peers.set(peer, { peer, clusterId: id, since: news ? now : (was?.since ?? now), lastSeenAt: now });
    if (this.peers.size > MAX_PEERS) this.peers.delete(this.peers.keys().next().value ?? '');
    return news;
  }

  /** `peer` was accepted under this node's cluster id: forgotten. True when it was marked. */
  accepted(peer: string): boolean {
    return this.peers.delete(peer);
  }

  /** Forgets peers `keep` says are no longer in the file or the membership; returns them. */
  retain(keep: (id: string) => boolean): string[] {
    const gone = [...this.peers.keys()].filter((id) => !keep(id));
    for (const id of gone) this.peers.delete(id);
    return gone;
  }

  /** Forgets peers not seen within the window; returns them. */
  expire(now: number): string[] {
    const gone = [...this.peers.values()].filter((p) => now - p.lastSeenAt > this.windowMs).map((p) => p.peer);
    for (const id of gone) this.peers.delete(id);
    return gone;
  }

  /** The peers marked now, in id order. */
  current(now: number): OtherClusterPeer[] {
    return [...this.peers.values()]
      .filter((p) => now - p.lastSeenAt <= this.windowMs)
      .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }
}

/** What to do, after operate.md's restore procedure: one cluster kept, the others' members joined to it empty. */
export const OTHER_CLUSTER_FIX =
  'two clusters run under one cluster file (a restore run on more than one member?): keep one, and on each member of the other ' +
  'stop the controller, move its data dir aside, add it to the kept cluster (ctl member add) and start it with --join (docs/operate.md, Backup and restore); ' +
  'if neither has a leader (each holds part of a quorum: controller recover run on only some of the members it kept), ' +
  'member add cannot commit: run controller recover on one of them alone and add the others back (docs/operate.md, Quorum-loss recovery)';

/** Why `self` (of cluster `ours`) does not trust its answers, naming each peer and its cluster id; '' when none. */
export function describeOtherClusters(self: string, ours: string | null, peers: readonly Pick<OtherClusterPeer, 'peer' | 'clusterId'>[]): string {
  if (peers.length === 0) return '';
  const named = peers.map((p) => `${p.peer} (cluster ${p.clusterId ?? 'unknown'})`).join(', ');
  const verb = peers.length === 1 ? 'answers' : 'answer';
  return `${named} ${verb} for another cluster than ${self}'s${ours === null ? '' : ` (${ours})`}: ${OTHER_CLUSTER_FIX}`;
}
