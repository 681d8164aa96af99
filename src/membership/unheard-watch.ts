/**
 * The other side of a member its peers cannot dial (membership.md, "A member nobody can dial"):
 * its peers each warn that they cannot dial it, but the member itself, whose own pings are
 * answered on the connections it opened, hears everyone and would say nothing. What it can see
 * is the peers' views, which ride back on those connections: a peer it hears whose own view
 * shows it offline does not hear it. Held for a while before it is news (a member's first pongs
 * after its start may still carry a peer's view from before it was heard), then one warning per
 * episode, another when a peer not named yet has not heard it for the hold too (a firewall
 * that closes toward one more peer), and one line when every such peer hears it again. Pure:
 * time comes in.
 */
import type { NodeId } from './types.js';

export type UnheardNews =
  /**
   * Peers this node hears whose views show it offline, for `forMs` since the episode began;
   * `newly`: those not named before in this episode (all of them in its first warning).
   */
  | { readonly type: 'unheard'; readonly peers: readonly NodeId[]; readonly newly: readonly NodeId[]; readonly forMs: number }
  /** The episode ended: no peer this node hears shows it offline any longer. */
  | { readonly type: 'heard-again'; readonly peers: readonly NodeId[] };

export class UnheardWatch {
  private since: number | null = null;
  private warned: readonly NodeId[] | null = null;
  /** Since when each peer of the current set has shown this node offline without a break. */
  private readonly firstSeen = new Map<NodeId, number>();

  constructor(private readonly holdMs: number) {}

  /** `peers`: the members this node hears whose latest view shows it offline now (engine.unheardBy). */
  update(peers: readonly NodeId[], now: number): UnheardNews | null {
    for (const id of [...this.firstSeen.keys()]) if (!peers.includes(id)) this.firstSeen.delete(id);
    for (const id of peers) if (!this.firstSeen.has(id)) this.firstSeen.set(id, now);
    if (peers.length === 0) {
      this.since = null;
      const warned = this.warned;
      this.warned = null;
      return warned === null ? null : { type: 'heard-again', peers: warned };
    }
    this.since ??= now;
    if (now - this.since < this.holdMs) return null;
    if (this.warned === null) {
      this.warned = peers;
      return { type: 'unheard', peers, newly: peers, forMs: now - this.since };
    }
    const warned = this.warned;
    const newly = peers.filter((id) => !warned.includes(id) && now - this.firstSeen.get(id)! >= this.holdMs);
    if (newly.length === 0) return null;
    this.warned = [...warned, ...newly];
    return { type: 'unheard', peers, newly, forMs: now - this.since };
  }
}
