/**
 * How RaftHost hands a commit-only hard state to storage: unsynced (LevelRaftStorage then lets it
 * ride on its next write), except when the commit takes in a membership change, which must
 * survive a crash: a node that restarts without it does not know its own configuration.
 */
import t from 'tap';
import type { HardState } from '../../src/raft/index.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { DeferredCommit } from '../../src/storage/deferred-commit.js';
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

void t.test('a membership change applied in a later Ready than the commit index covering it still gets that commit index synced', async (t) => {
  // The core hands out committed entries a batch at a time (maxApplyBytes): a commit index that
  // jumps over a put and then a membership change comes in a Ready that applies only the put;
  // the change follows in a Ready without a hard state. The commit index covering it, held by
  // storage for its next write, must be synced then (identity seeds 104707 and 104822: members
  // restarted without a committed promotion or removal, and no quorum was left in their view).
  let syncedCommit = 0;
  const deferred = new DeferredCommit();
  const { host, sent } = await startLoneHost(
    t,
    timing,
    12,
    (level) => ({
      save(u, sync) {
        // What reaches the disk and is synced, by the rule LevelRaftStorage applies.
        if (!deferred.hold(u, sync)) {
          const hs = deferred.take(u.hardState);
          if (hs !== null && sync) syncedCommit = hs.commit;
        }
        return level.save(u, sync);
      },
      saveLocalSnapshot: (s, c) => level.saveLocalSnapshot(s, c),
    }),
    { maxApplyBytes: 1 },
  );
  host.campaign();
  const answering = setInterval(() => answerAsN2({ host, sent }), 5);
  await waitFor(() => host.softState().role === 'leader' && host.status().commit === host.status().lastIndex, 'n1 to lead and commit its no-op', 5000);
  clearInterval(answering);
  await waitFor(() => host.status().applied === host.status().commit, 'the no-op to apply', 5000);
  sent.splice(0);
  const put = host.propose(encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: new TextEncoder().encode('v') }), 10_000);
  const conf = host.proposeConfChange({ type: 'add-learner', node: 'n4', context: '127.0.0.1:14' }, 10_000);
  // n2 acknowledges both entries at once, so that one commit index covers both.
  const confIndex = (): number | undefined => sent.flatMap((m) => (m.type === 'Append' && m.to === 'n2' ? m.entries : [])).find((e) => e.kind === 'conf')?.index;
  await waitFor(() => confIndex() !== undefined, 'n1 to send n2 the membership change', 5000);
  const at = confIndex() ?? 0;
  const term = host.status().term;
  host.step({ type: 'AppendResp', from: 'n2', to: 'n1', term, reject: false, index: at, rejectHint: 0, hintTerm: 0 });
  t.ok((await put).ok, 'the put commits');
  t.ok((await conf).ok, 'the membership change commits');
  t.equal(host.status().commit, at, 'one commit index covers both');
  t.ok(host.status().conf.learners.includes('n4'), 'the membership change is applied');
  t.ok(syncedCommit >= at, `the commit index covering the change is synced (synced ${syncedCommit}, change at ${at})`);
});
