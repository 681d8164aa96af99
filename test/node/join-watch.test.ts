/** A --join start that waits asks its peers again and says what changed (src/node/join-watch.ts). */
import t from 'tap';
import { JoinWatch } from '../../src/node/join-watch.js';
import type { PeerAnswer } from '../../src/identity/index.js';

function watch(verdicts: (string | null)[], waitingFor: number, said: string | null): { watch: JoinWatch; warned: string[]; asked: () => number } {
  const warned: string[] = [];
  let asked = 0;
  let checks = 0;
  const w = new JoinWatch(
    {
      waiting: () => checks++ < waitingFor,
      ask: async () => {
        asked += 1;
        return [] as PeerAnswer[];
      },
      judge: () => verdicts.shift() ?? null,
      warn: (m) => warned.push(m),
    },
    said,
  );
  return { watch: w, warned, asked: () => asked };
}

void t.test('a new warning is logged once; the one the start logged is not repeated', async (t) => {
  const { watch: w, warned } = watch(['no peer answered', 'joiners only', 'joiners only', null, 'joiners only'], 100, 'no peer answered');
  for (let i = 0; i < 5; i++) await w.round();
  t.same(warned, ['joiners only', 'joiners only'], 'said again only after it had stopped being true');
});

void t.test('once the node knows a configuration, it stops asking', async (t) => {
  const { watch: w, asked } = watch(['x', 'x', 'x'], 2, null); // waiting() true for the first round's two checks only
  await w.round();
  await w.round();
  await w.round();
  t.equal(asked(), 1);
  t.ok(w.finished);
});
