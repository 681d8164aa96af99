/**
 * The consensus port the client API uses, with its proposals counted: pending, failed, and how
 * long each took from submission to result (raft_proposals_pending, raft_proposals_failed_total,
 * raft_proposal_duration_seconds). Everything else passes through unchanged.
 */
import type { ConsensusPort } from '../api/consensus-port.js';

export interface ProposalMeter {
  /** Call the returned function with whether the proposal succeeded. */
  proposalStarted(): (ok: boolean) => void;
}

async function metered<T>(meter: ProposalMeter, run: () => Promise<T>): Promise<T> {
  const done = meter.proposalStarted();
  try {
    const result = await run();
    done(true);
    return result;
  } catch (err) {
    done(false);
    throw err;
  }
}

export function meteredConsensus(port: ConsensusPort, meter: ProposalMeter): ConsensusPort {
  return {
    id: port.id,
    propose: (data, timeoutMs) => metered(meter, () => port.propose(data, timeoutMs)),
    proposeConfChange: (change, timeoutMs) => metered(meter, () => port.proposeConfChange(change, timeoutMs)),
    readBarrier: (timeoutMs) => port.readBarrier(timeoutMs),
    status: () => port.status(),
    softState: () => port.softState(),
    snapshotIndex: () => port.snapshotIndex(),
    waitForLeader: (timeoutMs) => port.waitForLeader(timeoutMs),
    transferLeadership: (to) => port.transferLeadership(to),
    handOffLeadership: () => port.handOffLeadership(),
    commitStallMs: () => port.commitStallMs(),
  };
}
