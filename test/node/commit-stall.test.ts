/**
 * RaftHost.commitStallMs: how long a leader has held entries its commit index does not reach.
 * It feeds `ctl health` and raft_commit_stalled (finding 5 of issue 10: a leader kept an entry it
 * could never send, every later write timed out, and health still said yes).
 */
import t from 'tap';
import { encodeCommand } from '../../src/statemachine/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { startLoneHost } from './lone-host.js';

// A long election timeout: the leader keeps its role while its followers stay silent.
const timing = { heartbeatIntervalMs: 20, electionTimeoutMs: 60_000, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

void t.test('a leader holding an entry no follower acknowledges reports a growing stall; a commit clears it', async (t) => {
  const { host, sent } = await startLoneHost(t, timing, 7);
  t.equal(host.commitStallMs(), 0, 'a follower is never stalled');
  host.campaign();
  // n2 grants whatever n1 asks (pre-vote, then vote).
  await waitFor(() => {
    for (const m of sent.splice(0)) {
      if (m.to !== 'n2') continue;
      if (m.type === 'PreVote') host.step({ type: 'PreVoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
      if (m.type === 'Vote') host.step({ type: 'VoteResp', from: 'n2', to: 'n1', term: m.term, reject: false });
    }
    return host.softState().role === 'leader';
  }, 'n1 to lead', 5000);
  const proposal = host.propose(encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: new TextEncoder().encode('v') }), 30_000);
  await waitFor(() => host.commitStallMs() >= 300, 'the stall to grow while nobody acknowledges', 5000);
  t.ok(host.status().lastIndex > host.status().commit, 'entries wait beyond the commit index');
  const { term, lastIndex } = host.status();
  host.step({ type: 'AppendResp', from: 'n2', to: 'n1', term, reject: false, index: lastIndex, rejectHint: 0, hintTerm: 0 });
  const result = await proposal;
  t.ok(result.ok, 'once n2 acknowledges, the entry commits');
  await waitFor(() => host.commitStallMs() === 0, 'the stall to clear', 5000);
  t.equal(host.commitStallMs(), 0, 'nothing waits: no stall');
});
