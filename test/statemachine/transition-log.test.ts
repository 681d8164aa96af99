import t from 'tap';
import { TransitionLog } from '../../src/statemachine/transition-log.js';

interface Item {
  readonly seq: number;
  readonly type: 'a' | 'b';
  readonly n: number;
}

/** What the log must hold after `added` adds with this capacity: the last `capacity` seqs. */
function expected(added: number, capacity: number, after: number): number[] {
  const first = Math.max(added - capacity, after) + 1;
  return Array.from({ length: Math.max(0, added - first + 1) }, (_, i) => first + i);
}

void t.test('the log keeps exactly the last `capacity` items through many laps of dropping', async (t) => {
  const capacity = 5;
  const log = new TransitionLog<Item>(capacity);
  for (let added = 1; added <= 4 * capacity + 3; added++) {
    log.add({ type: added % 2 === 0 ? 'a' : 'b', n: added * 10 });
    t.equal(log.seq, added);
    for (const after of [0, added - capacity - 1, added - capacity, added - 2, added]) {
      if (after < 0) continue;
      const { items, missed } = log.since(after);
      t.same(
        items.map((x) => x.seq),
        expected(added, capacity, after),
        `after ${added} adds, since(${after})`,
      );
      t.equal(missed, after < added - capacity, `after ${added} adds, since(${after}) missed`);
      for (const x of items) t.equal(x.n, x.seq * 10, 'each item keeps its own fields beside its seq');
    }
  }
  t.same(log.since(1_000).items, [], 'a reader ahead of the log gets nothing');
});

void t.test('after a reset the log holds nothing and starts from the seq given', async (t) => {
  const log = new TransitionLog<Item>(3);
  for (let i = 0; i < 7; i++) log.add({ type: 'a', n: i });
  log.reset(40);
  t.equal(log.seq, 40);
  t.same(log.since(40), { items: [], missed: false });
  t.equal(log.since(39).missed, true, 'what came before the reset is missed');
  log.add({ type: 'b', n: 1 });
  t.same(log.since(40).items, [{ seq: 41, type: 'b', n: 1 }]);
});
