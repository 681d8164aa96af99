/**
 * The latest view of each reporter that reached this node, with the time it was taken on our
 * clock. Every node keeps one (views ride on pings to every peer), so a newly elected leader
 * already holds the evidence it needs: a change of leader never waits for views to be re-sent.
 *
 * A view arrives first-hand (from its reporter) or relayed (a peer passes on what it received
 * first-hand). A relayed view counts as received when the relaying peer received it, so it
 * ages from that instant and a dead reporter's last view expires on time whoever relays it.
 * Only first-hand views are relayed further: nothing circulates.
 *
 * A relayed view is only as true as the member that relays it, and any member's key can
 * relay a made-up view of another: an adversarial test had one member's key keep the leader
 * shown offline, and with autopilot's cleanup on, remove two healthy voters of five. So a
 * reporter's own view outranks any relayed one: it always replaces a relayed view, and no
 * relayed view replaces it while it is younger than `firstHandHoldMs`. Relays are for a
 * reporter this node no longer hears itself (the relaying side sends them only then), so an
 * honest cluster loses nothing.
 */
import type { NodeId } from './types.js';
import type { MemberView } from './view-codec.js';
import { MembershipError } from './errors.js';

export interface ReceivedView {
  readonly view: MemberView;
  /** On the holder's clock; freshness is judged against this, never against the reporter's clock. */
  readonly receivedAt: number;
  /** Received from its reporter; false: relayed by `via`. */
  readonly direct: boolean;
  /** Who handed it to us (the reporter itself when direct). */
  readonly via: NodeId;
}

/** seq `a` is newer than `b`, allowing for wrap-around at 2^32. */
function newerSeq(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export class ViewTable {
  private readonly views = new Map<NodeId, ReceivedView>();

  /** `firstHandHoldMs`: how long a first-hand view keeps relayed views of its reporter out. */
  constructor(private readonly firstHandHoldMs: number) {}

  /**
   * Keep `view` if it is newer than what we hold from its reporter. A different incarnation
   * (the reporter restarted) always replaces. `from` is the transport-level sender; a view that
   * claims another reporter is refused.
   */
  ingest(from: NodeId, view: MemberView, receivedAt: number): boolean {
    if (view.reporter !== from) {
      throw new MembershipError('INVALID_VIEW', `view from "${from}": expected reporter "${from}", found "${view.reporter}"`);
    }
    return this.keep({ view, receivedAt, direct: true, via: from });
  }

  /**
   * A view of `view.reporter` relayed by `via`, which received it first-hand at `receivedAt`
   * (our clock), arriving `now`. Kept when it was received after what we hold (and, within one
   * incarnation, is newer), so a relay still holding a restarted reporter's previous view cannot
   * bring it back; and not while a first-hand view of that reporter is fresh.
   */
  ingestRelayed(via: NodeId, view: MemberView, receivedAt: number, now: number): boolean {
    if (view.reporter === via) {
      throw new MembershipError('INVALID_VIEW', `view relayed by "${via}": a node's own view is not relayed, found one by "${via}" itself`);
    }
    const held = this.views.get(view.reporter);
    if (held?.direct === true && now - held.receivedAt <= this.firstHandHoldMs) return false;
    return this.keep({ view, receivedAt, direct: false, via });
  }

  private keep(rv: ReceivedView): boolean {
    const held = this.views.get(rv.view.reporter);
    // A first-hand view replaces a relayed one whatever its seq: a relay may claim any.
    if (held !== undefined && !(rv.direct && !held.direct)) {
      if (held.view.incarnation === rv.view.incarnation && !newerSeq(rv.view.seq, held.view.seq)) return false;
      // A relay passes on what it received earlier: it never makes what we hold older.
      if (!rv.direct && rv.receivedAt <= held.receivedAt) return false;
    }
    this.views.set(rv.view.reporter, rv);
    return true;
  }

  forget(reporter: NodeId): void {
    this.views.delete(reporter);
  }

  get(reporter: NodeId): ReceivedView | undefined {
    return this.views.get(reporter);
  }

  /**
   * Views received within the last `ttlMs` (relayed ones: `ttlMs + relayGraceMs`, for the hop
   * their age does not count): the only ones allowed to vote.
   */
  fresh(now: number, ttlMs: number, relayGraceMs = 0): ReadonlyMap<NodeId, ReceivedView> {
    const out = new Map<NodeId, ReceivedView>();
    for (const [id, rv] of this.views) if (now - rv.receivedAt <= ttlMs + (rv.direct ? 0 : relayGraceMs)) out.set(id, rv);
    return out;
  }
}
