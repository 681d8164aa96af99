/** The watch hub: changes in revision order, filtered, replayed from a revision, bounded, and ended by a snapshot. */
import t from 'tap';
import type { KvChange } from '../../src/api/watch-source.js';
import { WatchHub } from '../../src/node/watch-hub.js';
import { encodeCommand } from '../../src/statemachine/index.js';

const put = (key: string, value: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'put', key, value } as { kind: string });
const del = (key: string): Uint8Array => encodeCommand({ kind: 'kv', op: 'delete', key } as { kind: string });
const member = (): Uint8Array => encodeCommand({ kind: 'members', op: 'promote', id: 'c4' } as { kind: string });

function collector(): { changes: string[]; lost: string[]; sub: { onChange(c: KvChange): void; onLost(r: string): void } } {
  const changes: string[] = [];
  const lost: string[] = [];
  const text = (c: KvChange): string => `${c.revision} ${c.type} ${c.key}${c.type === 'PUT' ? `=${Buffer.from(c.value).toString()}` : ''}`;
  return { changes, lost, sub: { onChange: (c) => changes.push(text(c)), onLost: (r) => lost.push(r) } };
}

void t.test('a watch from now sees later changes to its key only; a prefix watch sees the keys under it', async (t) => {
  const hub = new WatchHub(10);
  const exact = collector();
  const prefix = collector();
  t.match(hub.subscribe({ key: 'a/1', prefix: false }, 0, exact.sub), { ok: true });
  t.match(hub.subscribe({ key: 'a/', prefix: true }, 0, prefix.sub), { ok: true });
  hub.recordChange(11, put('a/1', 'x'));
  hub.recordChange(12, put('a/2', 'y'));
  hub.recordChange(13, member());
  hub.recordChange(14, put('b', 'z'));
  hub.recordChange(15, del('a/1'));
  t.strictSame(exact.changes, ['11 PUT a/1=x', '15 DELETE a/1']);
  t.strictSame(prefix.changes, ['11 PUT a/1=x', '12 PUT a/2=y', '15 DELETE a/1'], 'membership changes and other keys are not key changes here');
});

void t.test('a watch from a past revision replays what the hub remembers, then follows', async (t) => {
  const hub = new WatchHub(0);
  for (let r = 1; r <= 5; r++) hub.recordChange(r, put(`k${r}`, `v${r}`));
  const w = collector();
  t.match(hub.subscribe({ key: 'k', prefix: true }, 3, w.sub), { ok: true });
  t.strictSame(w.changes, ['3 PUT k3=v3', '4 PUT k4=v4', '5 PUT k5=v5']);
  hub.recordChange(6, put('k6', 'v6'));
  t.strictSame(w.changes.at(-1), '6 PUT k6=v6');
  const future = collector();
  t.match(hub.subscribe({ key: 'k', prefix: true }, 9, future.sub), { ok: true }, 'a future revision waits for it');
  hub.recordChange(7, put('k7', 'v7'));
  t.strictSame(future.changes, [], 'revision 7 is before 9');
});

void t.test('history is bounded: a watch from before it is refused with where history starts', async (t) => {
  const hub = new WatchHub(0, { maxEvents: 3, maxBytes: 1 << 20 });
  for (let r = 1; r <= 5; r++) hub.recordChange(r, put(`k${r}`, 'v'));
  t.strictSame(hub.subscribe({ key: 'k', prefix: true }, 2, collector().sub), { ok: false, historyFrom: 2 });
  t.match(hub.subscribe({ key: 'k', prefix: true }, 3, collector().sub), { ok: true });
  const small = new WatchHub(0, { maxEvents: 100, maxBytes: 10 });
  small.recordChange(1, put('a', '0123456789'));
  small.recordChange(2, put('b', '0123456789'));
  t.strictSame(small.subscribe({ key: '', prefix: true }, 1, collector().sub), { ok: false, historyFrom: 1 }, 'by bytes too');
});

void t.test('a snapshot replacing the state ends every watch and restarts history', async (t) => {
  const hub = new WatchHub(0);
  const w = collector();
  hub.subscribe({ key: 'k', prefix: true }, 0, w.sub);
  hub.reset(40);
  t.match(w.lost, [/installed a snapshot at revision 40; watch again from revision 41/]);
  hub.recordChange(41, put('k', 'v'));
  t.strictSame(w.changes, [], 'a lost watch hears nothing more');
  t.strictSame(hub.subscribe({ key: 'k', prefix: true }, 40, collector().sub), { ok: false, historyFrom: 40 });
  t.equal(hub.watching, 0);
});

void t.test('a cancelled watch hears nothing more', async (t) => {
  const hub = new WatchHub(0);
  const w = collector();
  const started = hub.subscribe({ key: 'k', prefix: false }, 0, w.sub);
  if (started.ok) started.cancel();
  hub.recordChange(1, put('k', 'v'));
  t.strictSame(w.changes, []);
});
