/**
 * Bugs planted on purpose, to show that the simulation catches them: a checker that never
 * fails proves nothing. Each one breaks one rule the production code keeps, in the production
 * code's own objects (RaftHost) or as a broken receiver would behave.
 */
import type { RaftHost } from '../../src/node/raft-host.js';
import type { Message, Ready, SoftState } from '../../src/raft/index.js';
import type { Completion } from '../../src/util/completion.js';

/** The parts of RaftHost the plants replace (private: this is test surgery). */
interface HostInternals {
  persist(rd: Ready, sync: boolean): Completion<void>;
  changesTermOrVote(rd: Ready): boolean;
  soft: SoftState;
}

function internals(host: RaftHost): HostInternals {
  const h = host as unknown as HostInternals;
  if (typeof h.persist !== 'function' || typeof h.changesTermOrVote !== 'function') {
    throw new Error('plants: RaftHost no longer has persist/changesTermOrVote; update the plant');
  }
  return h;
}

/**
 * Breaks rule 2 of ready.ts in RaftHost: a leader carries on as soon as it has issued its
 * write instead of when the write completes, so it applies, acknowledges and announces
 * commits that count its own copy of entries not yet on its disk.
 */
export function leaderActsBeforeItsWriteCompletes(host: RaftHost): void {
  const h = internals(host);
  const persist = h.persist.bind(host);
  h.persist = (rd, sync) => {
    const written = persist(rd, sync);
    const sendsFirst = (rd.softState?.role ?? h.soft.role) === 'leader' && !h.changesTermOrVote(rd);
    if (!sendsFirst || !sync) return written;
    written.then(
      () => undefined,
      () => undefined,
    );
    return { then: (onDone) => onDone() };
  };
}

/**
 * The vote rule before issue 10: a node ignores a (pre-)vote request from a candidate it does
 * not count as a voter. Planted at delivery, as the receiving core used to behave.
 */
export function ignoresVotesFromNonVoters(m: Message, receiver: RaftHost): boolean {
  if (m.type !== 'PreVote' && m.type !== 'Vote') return false;
  const voters = receiver.status().conf.voters;
  return voters.length > 0 && !voters.includes(m.from);
}
