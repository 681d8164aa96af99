/** How a follower handles messages at its own term (etcd's stepFollower). */
import type { Append, InstallSnapshot, Message } from './messages.js';
import { RaftError } from './errors.js';
import type { Raft } from './raft.js';

function entriesLost(leader: string, commit: number, last: number): RaftError {
  return new RaftError(
    'ENTRIES_LOST',
    `${leader} counts this node as holding the log up to ${commit}, which it acknowledged, but its log ends at ${last}: ` +
      'entries this node acknowledged are gone',
  );
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'Append':
      r.electionElapsed = 0;
      r.lead = m.from;
      onAppend(r, m);
      return;
    case 'Heartbeat':
      // A heartbeat's commit is at most what this node acknowledged to the leader (raft.ts):
      // beyond its log, the entries it acknowledged are gone. etcd panics here too ("Was the raft
      // log corrupted, truncated, or lost?"): a vote from this log could elect a leader without them.
      if (m.commit > r.log.lastIndex()) throw entriesLost(m.from, m.commit, r.log.lastIndex());
      r.electionElapsed = 0;
      r.lead = m.from;
      r.log.commitTo(m.commit);
      r.send({ type: 'HeartbeatResp', to: m.from, context: m.context });
      return;
    case 'InstallSnapshot':
      r.electionElapsed = 0;
      r.lead = m.from;
      onSnapshot(r, m);
      return;
    case 'TimeoutNow':
      // Leadership transfer: campaign at once, without pre-vote, bypassing stickiness.
      if (r.promotable()) r.campaign('transfer');
      return;
    case 'ReadIndexResp':
      if (!m.reject) r.readStates.push({ index: m.index, context: m.context });
      return;
    case 'ReadIndex':
      // A follower that was asked (stale routing) can only say no.
      r.send({ type: 'ReadIndexResp', to: m.from, index: 0, reject: true, context: m.context });
      return;
    case 'AppendResp':
    case 'HeartbeatResp':
    case 'PreVoteResp':
    case 'VoteResp':
    case 'PreVote':
    case 'Vote':
      return;
  }
}

function onAppend(r: Raft, m: Append): void {
  if (m.prevIndex < r.log.committed) {
    // Already committed here: report our commit so the leader skips ahead. Not if what the
    // leader sends differs from what this node committed: that answer would claim entries the
    // leader does not have, and the leader would never learn why this node does not follow.
    r.log.checkCommitted(m.prevIndex, m.prevTerm);
    for (const e of m.entries) {
      if (e.index > r.log.committed) break;
      r.log.checkCommitted(e.index, e.term);
    }
    r.send({ type: 'AppendResp', to: m.from, reject: false, index: r.log.committed, rejectHint: 0, hintTerm: 0 });
    return;
  }
  const lastNew = r.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (lastNew !== null) {
    // A commit notice that matched: this node's answer for the entries (with the leader, or on
    // its way) says all the leader needs. One that does not match is refused below.
    if (m.commitOnly && m.entries.length === 0) return;
    r.send({ type: 'AppendResp', to: m.from, reject: false, index: lastNew, rejectHint: 0, hintTerm: 0 });
    return;
  }
  // Suggest where to retry: the last entry at or below prevIndex whose term is <= prevTerm.
  const hint = r.log.findConflictByTerm(Math.min(m.prevIndex, r.log.lastIndex()), m.prevTerm);
  r.send({ type: 'AppendResp', to: m.from, reject: true, index: m.prevIndex, rejectHint: hint.index, hintTerm: hint.term });
}

function onSnapshot(r: Raft, m: InstallSnapshot): void {
  const s = m.snapshot;
  if (s.meta.index <= r.log.committed) {
    r.send({ type: 'AppendResp', to: m.from, reject: false, index: r.log.committed, rejectHint: 0, hintTerm: 0 });
    return;
  }
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    // We already hold the entries it covers: just commit up to it (§7, "retain the log").
    r.log.commitTo(s.meta.index);
  } else {
    r.log.restore(s);
    r.setConf(s.meta.conf);
  }
  r.send({ type: 'AppendResp', to: m.from, reject: false, index: r.log.lastIndex(), rejectHint: 0, hintTerm: 0 });
}
