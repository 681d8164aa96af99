/** How a (pre-)candidate handles messages at its own term (etcd's stepCandidate). */
import type { Message } from './messages.js';
import type { Raft } from './raft.js';
import { stepFollower } from './step-follower.js';

export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'Append':
    case 'Heartbeat':
    case 'InstallSnapshot':
      // Someone won this term (§5.2): follow them.
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case 'PreVoteResp':
    case 'VoteResp': {
      const mine = r.role === 'pre-candidate' ? 'PreVoteResp' : 'VoteResp';
      if (m.type !== mine) {
        if (m.type === 'VoteResp') r.lateVote(m);
        return;
      }
      const outcome = r.recordVote(m.from, !m.reject);
      if (outcome === 'won') {
        if (r.role === 'pre-candidate') r.campaign('election');
        else r.becomeLeader();
        if (r.role === 'leader') r.bcastAppend();
      } else if (outcome === 'lost') {
        r.becomeFollower(r.term, null);
      }
      return;
    }
    case 'TimeoutNow':
    case 'AppendResp':
    case 'HeartbeatResp':
    case 'ReadIndex':
    case 'ReadIndexResp':
    case 'PreVote':
    case 'Vote':
      return;
  }
}
