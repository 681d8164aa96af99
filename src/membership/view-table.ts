/**
 * The latest view each reporter sent to this node, with the time it arrived on our clock.
 * Every node keeps one (views ride on pings to every peer), so a newly elected leader already
 * holds the evidence it needs: a change of leader never waits for views to be re-sent.
 */
import type { NodeId } from './types.js';
import type { MemberView } from './view-codec.js';
import { MembershipError } from './errors.js';

export interface ReceivedView {
  readonly view: MemberView;
  /** On the holder's clock; freshness is judged against this, never against the reporter's clock. */
  readonly receivedAt: number;
}

/** seq `a` is newer than `b`, allowing for wrap-around at 2^32. */
function newerSeq(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export class ViewTable {
  private readonly views = new Map<NodeId, ReceivedView>();

  /**
   * Keep `view` if it is newer than what we hold from its reporter. A different incarnation
   * (the reporter restarted) always replaces. `from` is the transport-level sender; a view that
   * claims another reporter is refused.
   */
  ingest(from: NodeId, view: MemberView, receivedAt: number): boolean {
    if (view.reporter !== from) {
      throw new MembershipError('INVALID_VIEW', `view from "${from}": expected reporter "${from}", found "${view.reporter}"`);
    }
    const held = this.views.get(from);
    if (held !== undefined && held.view.incarnation === view.incarnation && !newerSeq(view.seq, held.view.seq)) {
      return false;
    }
    this.views.set(from, { view, receivedAt });
    return true;
  }

  forget(reporter: NodeId): void {
    this.views.delete(reporter);
  }

  get(reporter: NodeId): ReceivedView | undefined {
    return this.views.get(reporter);
  }

  /** Views received within the last `ttlMs`: the only ones allowed to vote. */
  fresh(now: number, ttlMs: number): ReadonlyMap<NodeId, ReceivedView> {
    const out = new Map<NodeId, ReceivedView>();
    for (const [id, rv] of this.views) if (now - rv.receivedAt <= ttlMs) out.set(id, rv);
    return out;
  }
}
