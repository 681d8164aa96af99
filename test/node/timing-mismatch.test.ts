/** ops55: a member started with other raft timing than its peers warns at start (src/node/timing-mismatch.ts). */
import t from 'tap';
import { raftTimingMismatch } from '../../src/node/timing-mismatch.js';

const own = { electionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 };
const usual = { electionTimeoutMs: 1_000, heartbeatIntervalMs: 100 };

void t.test('peers with other timing are named, grouped by their values', async (t) => {
  const r = raftTimingMismatch('/etc/c.yaml', own, [
    { peer: 'c1', timing: usual },
    { peer: 'c2', timing: usual },
    { peer: 'c4', timing: { electionTimeoutMs: 10_000, heartbeatIntervalMs: 500 } },
  ]);
  t.strictSame(r?.peers, ['c1', 'c2', 'c4']);
  t.match(
    r?.message,
    "/etc/c.yaml: raft.* timing differs from the peers': this member has election_timeout 10s, heartbeat_interval 1s; c1, c2 have election_timeout 1s, heartbeat_interval 100ms; c4 has election_timeout 10s, heartbeat_interval 500ms. ",
  );
  t.match(r?.message, /Set raft\.election_timeout and raft\.heartbeat_interval alike in every member's file/);
});

void t.test('nothing to say when every peer that said its timing agrees; a peer that said none (older, or no answer) is not judged', async (t) => {
  t.equal(raftTimingMismatch('f', own, [{ peer: 'c1', timing: { ...own } }, { peer: 'c2' }]), null);
  t.equal(raftTimingMismatch('f', own, []), null);
  t.strictSame(raftTimingMismatch('f', usual, [{ peer: 'c1', timing: { electionTimeoutMs: 1_000, heartbeatIntervalMs: 50 } }])?.peers, ['c1'], 'the heartbeat interval alone differs');
});
