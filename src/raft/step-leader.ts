/** How a leader handles messages at its own term (etcd's stepLeader). */
import type { AppendResp, HeartbeatResp, Message } from './messages.js';
import { hasQuorum } from './quorum.js';
import type { Raft } from './raft.js';

export function stepLeader(r: Raft, m: Message): void {
  const pr = r.prs.get(m.from);
  switch (m.type) {
    case 'AppendResp':
      if (pr) onAppendResp(r, m);
      return;
    case 'HeartbeatResp':
      if (pr) onHeartbeatResp(r, m);
      return;
    case 'ReadIndex':
      if (pr) r.leaderReadIndex(m.context, m.from);
      return;
    case 'PreVoteResp':
    case 'VoteResp':
    case 'Append':
    case 'Heartbeat':
    case 'InstallSnapshot':
    case 'TimeoutNow':
    case 'ReadIndexResp':
    case 'PreVote':
    case 'Vote':
      // Stale or misdirected at this term: a leader has nothing to do with them.
      return;
  }
}

function onAppendResp(r: Raft, m: AppendResp): void {
  const pr = r.prs.get(m.from)!;
  pr.recentActive = true;
  if (m.reject) {
    // Fast back-tracking: jump to the follower's hint, refined by our own log's terms.
    const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.hintTerm).index : m.rejectHint;
    if (pr.maybeDecrTo(m.index, hint)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      r.sendAppend(m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  // An accept past the match, or one at it that says all the probe's own would (Progress.acceptedAtMatch).
  if (!pr.maybeUpdate(m.index) && !pr.acceptedAtMatch(m.index)) return;
  if (pr.state === 'probe') {
    pr.becomeReplicate();
  } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === 'replicate') {
    pr.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) {
    r.releasePendingReads();
    r.bcastAppend('commit');
  } else if (wasPaused) {
    r.sendAppend(m.from);
  }
  // Keep the pipeline full while the window allows.
  while (r.sendAppend(m.from, 'pipeline')) {
    /* sending */
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    r.send({ type: 'TimeoutNow', to: m.from });
  }
}

function onHeartbeatResp(r: Raft, m: HeartbeatResp): void {
  const pr = r.prs.get(m.from)!;
  pr.recentActive = true;
  // A probe still unanswered may have been lost: probe again (etcd's one append per heartbeat).
  // Its entries capped at REPROBE_MAX_BYTES (raft.ts), because heartbeats overtake queued
  // appends (peer-link.ts), so this answer usually precedes the probe's own: re-sending up to
  // max_message_bytes every heartbeat would flood the link. A probe over the cap is re-sent
  // shorter, or empty (CockroachDB #131681); either's answer moves the progress on.
  const reprobe = pr.state === 'probe' && pr.probeSent;
  pr.probeSent = false;
  // If the acks for a whole window of appends were lost, the window never drains and the follower
  // would only ever get heartbeats. The follower is alive, so free one slot and send again (etcd's
  // FreeFirstOne; found by the simulation, test/raft/flow-control.test.ts).
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex()) r.sendAppend(m.from, reprobe ? 'reprobe' : 'entries');
  // A transferee that answers a heartbeat has not campaigned yet: its TimeoutNow was lost (or
  // dropped, as a member still recording the cluster id drops every message). Say it again
  // rather than let the transfer lapse after an election timeout. Safe to repeat: once the
  // transferee campaigns its term is past this leader's, and a TimeoutNow of an older term is
  // ignored.
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) r.send({ type: 'TimeoutNow', to: m.from });
  if (m.context === '') return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks || !hasQuorum(r.conf.voters, (id) => acks.has(id))) return;
  for (const req of r.readOnly.advance(m.context)) r.releaseRead(req);
}
