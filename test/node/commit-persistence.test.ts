/**
 * How RaftHost hands a commit-only hard state to storage: unsynced (LevelRaftStorage then lets it
 * ride on its next write), except when the commit takes in a membership change, which must
 * survive a crash: a node that restarts without it does not know its own configuration.
 */
import t from 'tap';
import type { HardState } from '../../src/raft/index.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { answerAsN2, startLoneHost } from './lone-host.js';

const timing = { heartbeatIntervalMs: 20, electionTimeoutMs: 60_000, snapshotThreshold: 10000, snapshotThresholdBytes: 64 << 20, trailingLogs: 100, maxInflight: 64, maxMessageBytes: 4 << 20 };

interface CommitOnlySave {
  readonly hardState: HardState;
  readonly sync: boolean;
}

void t.test('a commit-only hard state is saved unsynced, unless it commits a membership change', async (t) => {
  const commitOnly: CommitOnlySave[] = [];
  const { host, sent } = await startLoneHost(t, timing, 11, (level) => ({
    save(u, sync) {
      if (u.hardState !== null && u.entries.length === 0 && u.snapshot === null) commitOnly.push({ hardState: u.hardState, sync });
      return level.save(u, sync);
    },
    saveLocalSnapshot: (s, c) => level.saveLocalSnapshot(s, c),
  }));
  host.campaign();
  const answering = setInterval(() => answerAsN2({ host, sent }), 5);
  t.teardown(() => clearInterval(answering));
  await waitFor(() => host.softState().role === 'leader', 'n1 to lead', 5000);
  // Several puts: a commit may also ride in a Ready that appends entries; most come alone.
  const putIndexes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const put = await host.propose(encodeCommand({ kind: 'kv', op: 'put', key: `k${i}`, value: new TextEncoder().encode('v') }), 10_000);
    t.ok(put.ok, `put ${i} commits`);
    putIndexes.push(host.status().commit);
  }
  // Last, so that nothing appended after it can carry its commit.
  const conf = await host.proposeConfChange({ type: 'add-learner', node: 'n4', context: '127.0.0.1:14' }, 10_000);
  t.ok(conf.ok, 'the membership change commits');
  const confIndex = host.status().commit;
  const forPuts = commitOnly.filter((s) => putIndexes.includes(s.hardState.commit));
  t.ok(forPuts.length > 0, 'some put\'s commit index came alone');
  t.ok(forPuts.every((s) => !s.sync), 'a put\'s commit index is handed over unsynced (it may wait for the next write)');
  const forConf = commitOnly.filter((s) => s.hardState.commit === confIndex);
  t.equal(forConf.length, 1, 'the membership change\'s commit index came alone');
  t.equal(forConf[0]?.sync, true, 'the membership change\'s commit index is written and synced at once');
});
