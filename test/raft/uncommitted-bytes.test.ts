/**
 * The leader's bound of uncommitted bytes (etcd's MaxUncommittedEntriesSize): past it a proposal
 * is refused with PROPOSAL_DROPPED and nothing is appended; once entries commit, proposals are
 * admitted again; an entry larger than the bound goes through when nothing is uncommitted.
 */
import t, { type Test } from 'tap';
import { RaftError } from '../../src/raft/index.js';
import { rawCluster } from './raw-cluster.js';

const MAX = 1000;

/** A three-node cluster elected; `pump(false)` holds the messages. */
function cluster() {
  const c = rawCluster(['a', 'b', 'c'], MAX);
  const leader = c.elect();
  if (!leader) throw new Error('no leader elected');
  return { leader: leader.node, pump: c.pump };
}

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7);

function dropped(t: Test, f: () => unknown, pattern: RegExp, what: string): void {
  try {
    f();
    t.fail(`${what}: admitted`);
  } catch (err) {
    t.ok(err instanceof RaftError && err.code === 'PROPOSAL_DROPPED', `${what}: PROPOSAL_DROPPED`);
    t.match((err as Error).message, pattern, `${what}: the message says how much waits`);
  }
}

void t.test('proposals past the bound are refused, and admitted again once entries commit', async (t) => {
  const { leader, pump } = cluster();
  t.equal(leader.uncommittedBytes(), 0, 'nothing uncommitted after the election');
  const first = leader.propose(bytes(400));
  leader.propose(bytes(400));
  pump(false);
  t.equal(leader.uncommittedBytes(), 800, 'two entries of 400 bytes wait');
  const lastBefore = leader.status().lastIndex;
  dropped(t, () => leader.propose(bytes(400)), /too many bytes of writes waiting to commit on the leader \(800 of 1000, this write 400\); retry/, 'a third');
  t.equal(leader.status().lastIndex, lastBefore, 'a refused proposal appends nothing');
  leader.propose(bytes(200));
  t.equal(leader.uncommittedBytes(), 1000, 'one that fits exactly is admitted');
  pump(true);
  t.ok(leader.status().commit >= first.index + 2, 'the entries committed');
  t.equal(leader.uncommittedBytes(), 0, 'committed entries no longer count');
  leader.propose(bytes(400));
  t.equal(leader.uncommittedBytes(), 400, 'a proposal is admitted again');
});

void t.test('an entry larger than the bound is admitted when nothing is uncommitted, alone', async (t) => {
  const { leader, pump } = cluster();
  leader.propose(bytes(5000));
  pump(false);
  t.equal(leader.uncommittedBytes(), 5000, 'the large entry was appended');
  dropped(t, () => leader.propose(bytes(1)), /\(5000 of 1000, this write 1\)/, 'anything after it');
  pump(true);
  t.equal(leader.uncommittedBytes(), 0, 'it committed');
  leader.propose(bytes(1));
  t.equal(leader.uncommittedBytes(), 1, 'and the next is admitted');
});
