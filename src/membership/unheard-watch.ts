/**
 * The other side of a member its peers cannot dial (membership.md, "A member nobody can dial"):
 * its peers each warn that they cannot dial it, but the member itself, whose own pings are
 * answered on the connections it opened, hears everyone and would say nothing. What it can see
 * is the peers' views, which ride back on those connections: a peer it hears whose own view
 * shows it offline does not hear it. Held for a while before it is news (a member's first pongs
 * after its start may still carry a peer's view from before it was heard), then one warning per
 * episode, and one line when every such peer hears it again. Pure: time comes in.
 */
import type { NodeId } from './types.js';

export type UnheardNews =
  /** Peers this node hears whose views show it offline, continuously for `forMs`. */
  | { readonly type: 'unheard'; readonly peers: readonly NodeId[]; readonly forMs: number }
  /** The episode ended: no peer this node hears shows it offline any longer. */
  | { readonly type: 'heard-again'; readonly peers: readonly NodeId[] };

export class UnheardWatch {
  private since: number | null = null;
  private warned: readonly NodeId[] | null = null;

  constructor(private readonly holdMs: number) {}

  /** `peers`: the members this node hears whose latest view shows it offline now (engine.unheardBy). */
  update(peers: readonly NodeId[], now: number): UnheardNews | null {
    if (peers.length === 0) {
      this.since = null;
      const warned = this.warned;
      this.warned = null;
      return warned === null ? null : { type: 'heard-again', peers: warned };
    }
    this.since ??= now;
    if (this.warned !== null || now - this.since < this.holdMs) return null;
    this.warned = peers;
    return { type: 'unheard', peers, forMs: now - this.since };
  }
}
