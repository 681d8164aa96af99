/**
 * A linearizable read's first step (ReadIndex): the leader confirms it still leads, and this
 * node waits until it has applied the leader's commit index. While there is no leader, or it
 * changes under the read, it retries until the deadline, unless this node is cut off from a
 * quorum (quorum-guard.ts): then it answers NO_QUORUM at once, also when that happens while it
 * waits, so the client moves on instead of waiting out its deadline for "no leader".
 */
import { leaderErrorOf, type ConsensusPort } from './consensus-port.js';
import { refuseIfCutOff } from './on-leader.js';
import { ServiceFailure } from './service-error.js';
import { deadlineSpentOnArrival } from './unary-handler.js';

/** How long a wait for a leader runs before the node checks again whether it is cut off. */
const RECHECK_MS = 100;

export async function linearizableBarrier(host: ConsensusPort, deadline: number, cutOff?: () => string | null): Promise<void> {
  for (let first = true; ; first = false) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 && first) throw deadlineSpentOnArrival();
    if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader confirmed the read before the deadline');
    refuseIfCutOff(cutOff);
    if ((host.softState().leader ?? (await host.waitForLeader(Math.min(remaining, RECHECK_MS)))) === null) {
      if (deadline - Date.now() > 0) continue;
      throw new ServiceFailure('NO_LEADER', `no leader elected within ${Math.round(remaining)}ms`);
    }
    try {
      await host.readBarrier(Math.max(1, deadline - Date.now()));
      return;
    } catch (err) {
      if (leaderErrorOf(err) === null) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
