/** The agents' records listed in id order: kept in order as records are replaced, come and go, without sorting them all again for a replacement. */
import t from 'tap';
import { agentsKind, type AgentRecord } from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';
import { claim, cluster, clusterVersion, forgetRecord, offline, run } from './mesh-helpers.js';

const SEED = 4711;

/** How many sorts of more than `min` elements `fn` makes. */
function countSorts(min: number, fn: () => void): number {
  const original = Array.prototype.sort;
  let sorts = 0;
  Array.prototype.sort = function <T>(this: T[], compare?: (a: T, b: T) => number): T[] {
    if (this.length > min) sorts++;
    return original.call(this, compare) as T[];
  };
  try {
    fn();
  } finally {
    Array.prototype.sort = original;
  }
  return sorts;
}

void t.test(`the list follows claims, replacements, disconnects and forgets in id order (seed ${SEED})`, async (t) => {
  const sm = cluster();
  run(sm, clusterVersion('0.2'));
  const agents = sm.view(agentsKind);
  const rng = seededRng(SEED);
  const session = new Map<string, number>();
  let mismatches = 0;
  for (let step = 0; step < 3000; step++) {
    // Ids outside the basic plane too: the order is by UTF-16 code units.
    const id = `a${rng.int(0, 300)}${rng.next() < 0.1 ? 'x\u{1F600}' : ''}`;
    const s = session.get(id);
    const roll = rng.next();
    if (s === undefined || roll < 0.4) {
      const next = (s ?? 0) + 1;
      session.set(id, next);
      run(sm, claim(id, `${id}-s${next}`, next));
    } else if (roll < 0.75) run(sm, offline(id, `${id}-s${s}`));
    else {
      run(sm, forgetRecord(id, `${id}-s${s}`));
      if (agents.get(id) === null) session.delete(id);
    }
    if (rng.next() < 0.3) {
      const listed = agents.list();
      const ids = listed.map((r) => r.id);
      const expected = [...ids].sort();
      const current = listed.every((r: AgentRecord) => agents.get(r.id) === r);
      if (ids.length !== agents.size || ids.join('\n') !== expected.join('\n') || !current) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'every listing: every record once, in id order, each the record now');
  t.ok(agents.size > 50, `the run kept records (${agents.size})`);
});

void t.test('a replaced record is taken in at its place; only a new or forgotten id sorts again', async (t) => {
  const sm = cluster();
  run(sm, clusterVersion('0.2'));
  const agents = sm.view(agentsKind);
  for (let i = 0; i < 200; i++) run(sm, claim(`a${i}`, `a${i}-s1`));
  agents.list();
  run(sm, offline('a17', 'a17-s1'));
  let listed: readonly AgentRecord[] = [];
  t.equal(countSorts(100, () => (listed = agents.list())), 0, 'a replacement sorts nothing');
  t.match(listed.find((r) => r.id === 'a17'), { online: false }, 'and the listing holds the new record');
  run(sm, claim('a200', 'a200-s1'));
  t.equal(countSorts(100, () => agents.list()), 1, 'a new id sorts the ids again');
  run(sm, forgetRecord('a17', 'a17-s1'));
  t.equal(countSorts(100, () => (listed = agents.list())), 1, 'so does a forgotten one');
  t.equal(listed.length, 200);
  t.notOk(listed.some((r) => r.id === 'a17'));
});
