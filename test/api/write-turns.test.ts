/**
 * Large client writes are taken in a few MiB per turn of the event loop (src/api/write-turns.ts):
 * 60 puts of 1 MB handled in one turn held a leader's loop for a second (attack round 11).
 */
import t from 'tap';
import { WriteTurns } from '../../src/api/write-turns.js';

const MiB = 1024 * 1024;

/** A WriteTurns whose later turns run when the test says. */
function manual(): { turns: WriteTurns; nextTurn: () => void } {
  const pending: Array<() => void> = [];
  const turns = new WriteTurns((fn) => pending.push(fn), 4 * MiB, 64 * 1024);
  return {
    turns,
    nextTurn: () => {
      for (const fn of pending.splice(0)) fn();
    },
  };
}

void t.test('past the bytes of one turn, large writes wait for later turns, in arrival order', async (t) => {
  const { turns, nextTurn } = manual();
  const handled: number[] = [];
  for (let i = 0; i < 10; i++) {
    const wait = turns.admit(MiB);
    if (wait === null) handled.push(i);
    else void wait.then(() => handled.push(i));
  }
  t.same(handled, [0, 1, 2, 3], 'four of 1 MiB now');
  nextTurn();
  await Promise.resolve();
  t.same(handled, [0, 1, 2, 3, 4, 5, 6, 7], 'four more in the next turn');
  nextTurn();
  await Promise.resolve();
  t.same(handled, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the rest in the one after');
  t.equal(turns.queued, 0);
});

void t.test('a write larger than a turn still goes, alone', async (t) => {
  const { turns, nextTurn } = manual();
  t.equal(turns.admit(6 * MiB), null, 'the first of a turn goes whatever its size');
  const second = turns.admit(MiB);
  t.not(second, null, 'the next waits');
  nextTurn();
  await second;
  t.pass('and goes in the next turn');
});

void t.test('small writes never wait, and do not use up a turn', async (t) => {
  const { turns } = manual();
  t.equal(turns.admit(4 * MiB), null);
  let now = 0;
  for (let i = 0; i < 1000; i++) if (turns.admit(1000) === null) now++;
  t.equal(now, 1000, 'a thousand small writes in the same turn go at once');
  t.equal(turns.queued, 0);
});

void t.test('a turn without large writes lets the next one through at once', async (t) => {
  const { turns, nextTurn } = manual();
  t.equal(turns.admit(4 * MiB), null);
  nextTurn();
  nextTurn();
  t.equal(turns.admit(4 * MiB), null, 'a new turn has its whole budget');
});
