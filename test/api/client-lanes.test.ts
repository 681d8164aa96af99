/**
 * ClientLanes (src/api/client-lanes.ts): a write holds an id of its own until its outcome, so
 * no two writes of one id are in flight at once, and the ids are reused.
 */
import t from 'tap';
import { ClientLanes, WriteAttempts } from '../../src/api/client-lanes.js';

void t.test('one writer at a time keeps one id, its seq rising', async (t) => {
  const lanes = new ClientLanes('c');
  const seen = [];
  for (let i = 0; i < 3; i++) {
    const tag = lanes.take();
    seen.push(tag.ref);
    tag.release();
  }
  t.same(seen, [{ id: 'c', seq: 1 }, { id: 'c', seq: 2 }, { id: 'c', seq: 3 }]);
  t.equal(lanes.count, 1);
});

void t.test('writes in flight together hold distinct ids; a freed id is taken again with its next seq', async (t) => {
  const lanes = new ClientLanes('c');
  const a = lanes.take();
  const b = lanes.take();
  const c = lanes.take();
  t.same([a.ref, b.ref, c.ref], [{ id: 'c', seq: 1 }, { id: 'c/1', seq: 1 }, { id: 'c/2', seq: 1 }], 'no id shared while in flight');
  b.release();
  b.release(); // a second release gives nothing back twice
  const d = lanes.take();
  t.same(d.ref, { id: 'c/1', seq: 2 }, "b's id, after its write");
  const e = lanes.take();
  t.same(e.ref, { id: 'c/3', seq: 1 }, 'a released tag was not put back twice');
  t.equal(lanes.count, 4, 'as many ids as writes were in flight at once');
});

void t.test("a write's first attempt goes out unmarked, every later one marked as a retry of the same ref", async (t) => {
  const attempts = new WriteAttempts({ id: 'c', seq: 3 });
  t.strictSame(attempts.next(), { id: 'c', seq: 3 });
  t.strictSame(attempts.next(), { id: 'c', seq: 3, retry: true });
  t.strictSame(attempts.next(), { id: 'c', seq: 3, retry: true });
});

void t.test('an attempt refused before anything was proposed does not make the next one a retry; one of unknown outcome does', async (t) => {
  const attempts = new WriteAttempts({ id: 'c', seq: 4 });
  t.strictSame(attempts.next(), { id: 'c', seq: 4 });
  attempts.refusedUnproposed(); // the leader's bound on bytes waiting to commit
  t.strictSame(attempts.next(), { id: 'c', seq: 4 }, 'still a first attempt');
  attempts.refusedUnproposed();
  t.strictSame(attempts.next(), { id: 'c', seq: 4 });
  // This one's answer never came (a failover):
  t.strictSame(attempts.next(), { id: 'c', seq: 4, retry: true }, 'after an attempt of unknown outcome, a retry');
  attempts.refusedUnproposed();
  t.strictSame(attempts.next(), { id: 'c', seq: 4, retry: true }, 'and stays one: an earlier attempt may have been applied');
});
