/**
 * A simulated process starts from its disk through a start decision (sim-node.ts): the seam the
 * lost-disk fault plugs an identity and bootstrap decision into. Here: the decision sees exactly
 * what survived on disk, a wiped disk included, and can refuse to start.
 */
import t from 'tap';
import type { NodeId } from '../../src/raft/index.js';
import type { PersistedState } from '../../src/storage/level-raft-storage.js';
import { Cluster } from './cluster.js';
import { RELIABLE } from './network.js';
import { Trace } from './trace.js';

void t.test('a restart asks the start decision, with what the disk holds; a wiped disk holds nothing; a refusal keeps the node down', async (t) => {
  const seen: Array<{ id: NodeId; onDisk: PersistedState }> = [];
  let refuse = false;
  const c = new Cluster({
    seed: 3,
    voters: ['n1', 'n2', 'n3'],
    node: { heartbeatIntervalMs: 20, electionTimeoutMs: 100, maxInflight: 8, maxMessageBytes: 2 << 20, maxApplyBytes: 1 << 20, snapshotEvery: 0, snapshotTrailing: 0 },
    disk: { syncMaxMs: 1, writeMaxMs: 1 },
    faults: RELIABLE,
    loseUnsyncedRate: 0,
    trace: new Trace(100),
    startDecision: (id, onDisk) => {
      seen.push({ id, onDisk });
      return refuse ? null : onDisk;
    },
  });
  t.same(seen.map((s) => s.id).sort(), ['n1', 'n2', 'n3'], 'every initial process asked');
  t.ok(seen.every((s) => s.onDisk.entries.length === 1 && s.onDisk.hardState.term === 1), 'with the bootstrap entry on its disk');

  while (c.leader() === null) c.tick();
  const follower = ['n1', 'n2', 'n3'].find((id) => id !== c.leader()!.id)!;
  c.propose('k');
  for (let i = 0; i < 10; i++) c.tick();
  c.crash(follower);
  c.restart(follower);
  const again = seen.at(-1)!;
  t.equal(again.id, follower, 'a restart asks again');
  t.ok(again.onDisk.entries.length >= 3 && again.onDisk.hardState.term >= 2, `with what survived (${again.onDisk.entries.length} entries, term ${again.onDisk.hardState.term})`);

  c.crash(follower);
  c.get(follower).disk.wipe();
  refuse = true;
  c.restart(follower);
  const wiped = seen.at(-1)!;
  t.same(wiped.onDisk, { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] }, 'a wiped disk holds nothing');
  t.notOk(c.get(follower).up, 'the refusal keeps it down');
  t.match(c.trace.lines().join('\n'), `${follower} refused to start`, 'and says so in the trace');
});
