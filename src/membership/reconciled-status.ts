/**
 * The `online` column of `ctl list controllers`: the answering node's best statement of each
 * member's health, right even before a status change has committed. Which view wins:
 *
 *   1. A verdict of the quorum assessment at this node (fresh views from a quorum of voters,
 *      first-hand or relayed, so every node that holds the same views answers the same).
 *      It is the decision the leader is about to commit from nearly the same views, so it is
 *      current where the committed state may still lag by a commit round. This also covers
 *      the row for this node itself: the quorum's opinion of us, as they report it to us.
 *   2. Without a quorum of fresh views this node is cut off (or the cluster has lost quorum):
 *      itself: offline when stale (no leader contact in an election timeout), else online.
 *      a member whose view still reaches us is on our side of the cut: its own word on
 *      whether it has leader contact decides (a minority partition is offline as a whole).
 *      anyone else: the last committed status, since we have nothing newer; then local.
 *   A member nobody has heard from yet is never online (its state is `unknown`).
 * `stale` is the contract's: this node heard from no quorum of voters within an election timeout.
 */
import type { MemberStatus, NodeId, ShownStatus } from './types.js';
import type { Assessment } from './status-aggregator.js';
import type { ReceivedView } from './view-table.js';

export type OnlineBasis = 'quorum-view' | 'never-heard' | 'self' | 'peer-connected' | 'committed' | 'local';

export interface ReconciledRow {
  readonly id: NodeId;
  readonly online: boolean;
  /** This node's own detector (always online for itself; unknown before the member's first message). */
  readonly localState: ShownStatus;
  /** Committed through Raft; null before the first decision reaches this node. */
  readonly clusterState: MemberStatus | null;
  readonly stale: boolean;
  /** Which rule produced `online`; for debugging and docs, not part of the contract. */
  readonly basis: OnlineBasis;
}

export interface ReconcileRowsInput {
  readonly self: NodeId;
  readonly members: readonly NodeId[];
  readonly stale: boolean;
  /** This node's detector status per peer (unknown: never heard in this process). */
  readonly local: ReadonlyMap<NodeId, ShownStatus>;
  readonly committed: ReadonlyMap<NodeId, MemberStatus>;
  /** assess() at this node, over the same views as `freshViews`. */
  readonly assessment: Assessment;
  /** Views received within the view TTL, keyed by reporter. */
  readonly freshViews: ReadonlyMap<NodeId, ReceivedView>;
}

export function reconcileRows(input: ReconcileRowsInput): readonly ReconciledRow[] {
  return input.members.map((id) => {
    const isSelf = id === input.self;
    const localState: ShownStatus = isSelf ? 'online' : (input.local.get(id) ?? 'unknown');
    const clusterState = input.committed.get(id) ?? null;
    const row = (online: boolean, basis: OnlineBasis): ReconciledRow => ({
      id,
      online,
      localState,
      clusterState,
      stale: input.stale,
      basis,
    });

    if (input.assessment.kind === 'quorum') {
      const v = input.assessment.verdicts.get(id);
      if (v?.kind === 'decided') return row(v.status === 'online', 'quorum-view');
      if (isSelf) return row(!input.stale, 'self');
      if (v?.kind === 'never-heard') return row(false, 'never-heard');
    } else {
      if (isSelf) return row(!input.stale, 'self');
      const theirs = input.freshViews.get(id);
      if (theirs !== undefined) return row(theirs.view.connected, 'peer-connected');
    }
    if (clusterState !== null) return row(clusterState === 'online', 'committed');
    return row(localState === 'online', 'local');
  });
}
