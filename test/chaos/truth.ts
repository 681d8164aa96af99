/**
 * The status truth: what `list controllers` should say, given what the harness has done.
 *
 * docs/membership.md defines online as "the controller process is running and the voters of
 * the cluster's quorum hear from it". The harness knows which processes run (not killed, not
 * paused, started and answering) and which directed links are cut, so it computes:
 *
 * - the majority side: running members that exchange messages both ways with a quorum of
 *   running voters (themselves included). These are the nodes whose answers are sampled.
 * - online(X): X runs, and among the majority-side voters other than X, at least as many hear
 *   X (the link X -> V is not cut) as do not. A tie keeps X online, as in the aggregator.
 */

export interface NodeCondition {
  /** Started, answering, and neither killed nor paused. */
  readonly running: boolean;
  /** A member of the cluster (not removed). */
  readonly member: boolean;
  readonly voter: boolean;
}

export interface Links {
  isCut(from: string, to: string): boolean;
}

export interface Truth {
  /** Members only: true when the quorum hears them. */
  readonly online: ReadonlyMap<string, boolean>;
  /** The nodes whose `list controllers` answers are held to the truth. */
  readonly majoritySide: ReadonlySet<string>;
}

export function computeTruth(nodes: ReadonlyMap<string, NodeCondition>, links: Links): Truth {
  const voters = [...nodes].filter(([, c]) => c.member && c.voter).map(([id]) => id);
  const quorum = Math.floor(voters.length / 2) + 1;
  const running = (id: string): boolean => nodes.get(id)?.running === true;
  const twoWay = (a: string, b: string): boolean => a === b || (!links.isCut(a, b) && !links.isCut(b, a));
  const majoritySide = new Set<string>();
  for (const [id, c] of nodes) {
    if (!c.member || !c.running) continue;
    const reach = voters.filter((v) => running(v) && twoWay(id, v)).length;
    if (reach >= quorum) majoritySide.add(id);
  }
  const online = new Map<string, boolean>();
  for (const [id, c] of nodes) {
    if (!c.member) continue;
    if (!c.running) {
      online.set(id, false);
      continue;
    }
    let hear = 0;
    let deaf = 0;
    for (const v of voters) {
      if (v === id || !majoritySide.has(v)) continue;
      if (links.isCut(id, v)) deaf += 1;
      else hear += 1;
    }
    online.set(id, hear + deaf === 0 ? majoritySide.has(id) : hear >= deaf);
  }
  return { online, majoritySide };
}
