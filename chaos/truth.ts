/**
 * The status truth: what `list controllers` should say, given what the harness has done.
 *
 * docs/membership.md defines online as "a quorum of voters, itself included, hears from it
 * within its timeout". The harness knows which processes run (not killed, not paused, started
 * and answering) and which directed links are cut, so it computes:
 *
 * - the majority side: running members that exchange messages both ways with a quorum of
 *   running voters (themselves included). These are the nodes whose answers are sampled.
 * - online(X): X runs, and X (when it votes) plus the running voters that hear it (the link
 *   X -> V is not cut) make a quorum of the voters. Under a bridge partition both sides stay
 *   online: each side and the bridge hear each other.
 *
 * One-way cuts between TCP peers are not one-way for long: a node whose inbound links are cut
 * can still send requests, but their responses, HTTP/2 acknowledgements and keepalive pings
 * never come back, so its connections are torn down and redialled every few seconds, and
 * what its peers hear of it comes and goes. Whether V hears X while V -> X is cut (and
 * X -> V is not) is therefore "maybe", and when the maybes could tip the vote either way the
 * truth is undetermined (null): such answers are shown but not counted.
 */

export interface NodeCondition {
  /** Started, answering, and neither killed nor paused. */
  readonly running: boolean;
  /**
   * The harness is in the middle of changing it, and cannot tell when the change takes effect:
   * spawned but its API does not answer yet (its peers may already hear it, or not until it
   * has caught up), or being added or removed (the conf change commits somewhere between the
   * call and its answer). Its truth is undetermined; it is not on the majority side.
   */
  readonly unsettled?: boolean;
  /** A member of the cluster (not removed). */
  readonly member: boolean;
  readonly voter: boolean;
}

export interface Links {
  isCut(from: string, to: string): boolean;
}

export interface Truth {
  /** Members only: true when the quorum hears them, null when one-way cuts make it undecidable. */
  readonly online: ReadonlyMap<string, boolean | null>;
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
    if (!c.member || !c.running || c.unsettled === true) continue;
    const reach = voters.filter((v) => running(v) && twoWay(id, v)).length;
    if (reach >= quorum) majoritySide.add(id);
  }
  const online = new Map<string, boolean | null>();
  for (const [id, c] of nodes) {
    if (!c.member) continue;
    if (c.unsettled === true) {
      online.set(id, null);
      continue;
    }
    if (!c.running) {
      online.set(id, false);
      continue;
    }
    // X hears itself when it votes; V hears X when X -> V is not cut (maybe: see above).
    let hear = voters.includes(id) ? 1 : 0;
    let maybe = 0;
    for (const v of voters) {
      if (v === id || !running(v)) continue;
      if (links.isCut(id, v)) continue;
      if (links.isCut(v, id)) maybe += 1;
      else hear += 1;
    }
    if (hear >= quorum) online.set(id, true);
    else if (hear + maybe < quorum) online.set(id, false);
    else online.set(id, null);
  }
  return { online, majoritySide };
}
