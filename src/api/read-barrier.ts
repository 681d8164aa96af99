/**
 * A linearizable read's first step (ReadIndex): the leader confirms it still leads, and this
 * node waits until it has applied the leader's commit index. While there is no leader, or it
 * changes under the read, it retries until the deadline.
 */
import { leaderErrorOf, type ConsensusPort } from './consensus-port.js';
import { ServiceFailure } from './service-error.js';

export async function linearizableBarrier(host: ConsensusPort, deadline: number): Promise<void> {
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new ServiceFailure('NO_LEADER', 'no leader confirmed the read before the deadline');
    if ((host.softState().leader ?? (await host.waitForLeader(remaining))) === null) {
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
