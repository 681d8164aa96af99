/**
 * MemoryStorage counts the bytes of the entries it holds, and a local snapshot keeps at most
 * `trailing` entries and `trailingBytes` of them behind it, so large entries cannot pin the log.
 */
import t from 'tap';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry } from '../../src/raft/types.js';

const conf = { voters: ['n1'], learners: [] };

function entry(index: number, term: number, bytes: number): Entry {
  return { index, term, kind: 'normal', data: new Uint8Array(bytes).fill(index % 251) };
}

function entries(lo: number, hi: number, term: number, bytes: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(entry(i, term, bytes));
  return out;
}

void t.test('held bytes follow appends, conflicting suffixes and compaction', async (t) => {
  const s = new MemoryStorage(conf);
  t.equal(s.heldBytes(), 0);
  s.append(entries(1, 10, 1, 100));
  t.equal(s.heldBytes(), 1_000);
  // A new leader replaces 6..10 with two larger entries.
  s.append(entries(6, 7, 2, 300));
  t.equal(s.heldBytes(), 5 * 100 + 2 * 300);
  s.compact(3);
  t.equal(s.heldBytes(), 2 * 100 + 2 * 300, 'entries 1..3 dropped (3 is the new dummy)');
  s.applySnapshot({ meta: { index: 20, term: 2, conf }, data: new Uint8Array(5) });
  t.equal(s.heldBytes(), 0, 'a snapshot from the leader replaces the log');
});

void t.test('a local snapshot keeps trailing entries up to the byte bound, and every entry after it', async (t) => {
  const s = new MemoryStorage(conf);
  s.append(entries(1, 100, 1, 1_000));
  // Up to 50 trailing entries by count, but only 10 KB: entries 91..100 stay, with 101.. after.
  s.append(entries(101, 105, 1, 1_000));
  s.createSnapshot(100, conf, new Uint8Array(1), 50, 10_000);
  t.equal(s.firstIndex(), 91);
  t.equal(s.lastIndex(), 105);
  t.equal(s.heldBytes(), 15 * 1_000);
  t.same(s.entries(91, 106, Number.MAX_SAFE_INTEGER).map((e) => e.index), [...Array(15).keys()].map((i) => 91 + i));

  // The count bound still applies when it is the tighter one.
  const c = new MemoryStorage(conf);
  c.append(entries(1, 100, 1, 10));
  c.createSnapshot(100, conf, new Uint8Array(1), 5, 10_000);
  t.equal(c.firstIndex(), 96);
  t.equal(c.heldBytes(), 5 * 10);

  // One entry larger than the bound: nothing trails the snapshot.
  const big = new MemoryStorage(conf);
  big.append(entries(1, 3, 1, 50_000));
  big.createSnapshot(3, conf, new Uint8Array(1), 100, 10_000);
  t.equal(big.firstIndex(), 4);
  t.equal(big.heldBytes(), 0);
  t.equal(big.term(3), 1, 'the snapshot index still answers its term');
});
