/**
 * `ctl resources` rules on fakes: a fresh cache means no remote call for the static figures; a
 * missing, expired or corrupt one means exactly one fetch and a rewrite (also under concurrent
 * requests); --refresh forces it; a dead, slow or lying member is listed as unreachable with
 * its cached static figures (disk and load null: not read this time), bounded by the deadline;
 * commonCpuFlags counts reachable members.
 */
import t from 'tap';
import { ResourcesGatherer, commonFlags, type GathererPorts } from '../../src/resources/gatherer.js';
import type { ResourceMember } from '../../src/resources/types.js';
import { FakeMembers, ManualTimers, MemoryCache, machine } from './fakes.js';

const HOUR = 3_600_000;
const MEMBERS: ResourceMember[] = [
  { id: 'c1', address: '10.0.0.1:7101', incarnation: '00000000000000c1' },
  { id: 'c2', address: '10.0.0.2:7101', incarnation: '00000000000000c2' },
  { id: 'c3', address: '10.0.0.3:7101', incarnation: '00000000000000c3' },
];

function setup(over: Partial<GathererPorts> = {}) {
  const timers = new ManualTimers();
  const members = new FakeMembers(() => timers.now);
  members.behaviour.set('c1', { kind: 'answer', static: machine(4, ['sse2', 'avx', 'aes']) });
  members.behaviour.set('c2', { kind: 'answer', static: machine(8, ['sse2', 'avx', 'avx2']) });
  members.behaviour.set('c3', { kind: 'answer', static: machine(2, ['avx', 'sse2']) });
  const cache = new MemoryCache();
  const remote: string[] = [];
  const lookups: string[] = [];
  const gatherer = new ResourcesGatherer({
    self: 'c1',
    fetch: members.fetch,
    cache,
    clock: timers,
    ttlMs: 24 * HOUR,
    deadlineMs: 1000,
    onRemoteCall: (kind) => remote.push(kind),
    onCacheLookup: (r) => lookups.push(r),
    ...over,
  });
  return { timers, members, cache, remote, lookups, gatherer };
}

void t.test('the first call fetches every member once and caches it; a second within the expiry makes no static call', async (t) => {
  const { gatherer, members, cache, remote, lookups } = setup();
  const first = await gatherer.gather(MEMBERS, false);
  t.strictSame(first.members.map((m) => [m.id, m.reachable, m.cached, m.cpus]), [
    ['c1', true, false, 4],
    ['c2', true, false, 8],
    ['c3', true, false, 2],
  ]);
  t.strictSame(first.commonCpuFlags, ['avx', 'sse2'], 'the flags every member has');
  t.equal(first.answeredBy, 'c1');
  t.strictSame(cache.writes.sort(), ['c1', 'c2', 'c3'], 'one cache write per member');
  t.strictSame(remote, ['static', 'static'], 'the answering member itself is not a remote call');
  t.strictSame(lookups, ['missing', 'missing', 'missing']);

  members.calls.length = 0;
  remote.length = 0;
  const second = await gatherer.gather(MEMBERS, false);
  t.strictSame(second.members.map((m) => [m.id, m.reachable, m.cached]), [
    ['c1', true, true],
    ['c2', true, true],
    ['c3', true, true],
  ]);
  t.equal(members.staticCalls(), 0, 'no call for the static figures');
  t.strictSame(remote, ['live', 'live'], 'disk and load are still read live');
  t.equal(second.members[1]!.fetchedAt, first.members[1]!.fetchedAt, 'shown with the time they were fetched');
  t.strictSame(second.members[1]!.loadAverage, [0.5, 0.25, 0.125]);
  t.equal(cache.writes.length, 3, 'nothing rewritten');
});

void t.test('an expired, corrupt or moved cache costs exactly one fetch and a rewrite', async (t) => {
  const { gatherer, members, cache, timers, lookups } = setup();
  await gatherer.gather(MEMBERS, false);
  timers.advance(24 * HOUR); // c1..c3 expire together
  cache.entries.set('c3', 'corrupt');
  members.calls.length = 0;
  cache.writes = [];
  lookups.length = 0;
  const r = await gatherer.gather([...MEMBERS.slice(0, 2), { id: 'c3', address: '10.0.0.3:7101', incarnation: '00000000000000c3' }], false);
  t.strictSame(lookups, ['expired', 'expired', 'corrupt']);
  t.strictSame(members.calls.map((c) => [c.id, c.includeStatic]).sort(), [['c1', true], ['c2', true], ['c3', true]], 'one static fetch each');
  t.strictSame(cache.writes.sort(), ['c1', 'c2', 'c3'], 'and one rewrite each');
  t.ok(r.members.every((m) => m.reachable && !m.cached));

  members.calls.length = 0;
  const moved = await gatherer.gather([MEMBERS[0]!, { ...MEMBERS[1]!, address: '10.0.0.9:7101' }, MEMBERS[2]!], false);
  t.strictSame(members.calls.filter((c) => c.includeStatic).map((c) => c.id), ['c2'], 'a member at a new address is fetched again');
  t.equal(moved.members[1]!.address, '10.0.0.9:7101');
});

void t.test("round 6's F6: a member rebuilt at the same address (a new incarnation) is fetched again, by every controller", async (t) => {
  // Two controllers with caches of their own, both warmed before c3 is rebuilt.
  const a = setup();
  const b = setup({ self: 'c2' });
  await a.gatherer.gather(MEMBERS, false);
  await b.gatherer.gather(MEMBERS, false);
  // remove c3, add c3 at the same address, --join on new hardware: the cluster records a new incarnation.
  for (const s of [a, b]) s.members.behaviour.set('c3', { kind: 'answer', static: machine(16, ['sse2']) });
  const rebuilt = [MEMBERS[0]!, MEMBERS[1]!, { ...MEMBERS[2]!, incarnation: '00000000000000d3' }];
  a.timers.advance(HOUR);
  b.timers.advance(HOUR);
  for (const [name, s] of [['c1', a], ['c2', b]] as const) {
    s.members.calls.length = 0;
    const r = await s.gatherer.gather(rebuilt, false);
    t.strictSame(s.members.calls.filter((c) => c.includeStatic).map((c) => c.id), ['c3'], `${name}: only the rebuilt member is fetched again`);
    t.strictSame([r.members[2]!.cached, r.members[2]!.cpus], [false, 16], `${name}: its new machine, not the cached one`);
    t.strictSame(r.commonCpuFlags, ['sse2'], `${name}: common flags the rebuilt member has`);
    const again = await s.gatherer.gather(rebuilt, false);
    t.ok(again.members.every((m) => m.cached), `${name}: cached again, under the new incarnation`);
  }
});

void t.test("round 6's F6: until the cluster has recorded a member's incarnation, its cache is not used", async (t) => {
  const { gatherer, members } = setup();
  const unrecorded = [MEMBERS[0]!, MEMBERS[1]!, { ...MEMBERS[2]!, incarnation: '' }];
  await gatherer.gather(unrecorded, false);
  members.calls.length = 0;
  const r = await gatherer.gather(unrecorded, false);
  t.strictSame(members.calls.filter((c) => c.includeStatic).map((c) => c.id), ['c3'], 'fetched again: an entry of an unknown incarnation proves nothing');
  t.strictSame(r.members.map((m) => m.cached), [true, true, false]);
});

void t.test("round 6's F6: a removed member's cache is deleted", async (t) => {
  const { gatherer, cache } = setup();
  await gatherer.gather(MEMBERS, false);
  await gatherer.gather(MEMBERS.slice(0, 2), false);
  t.strictSame([...cache.entries.keys()].sort(), ['c1', 'c2']);
});

void t.test('--refresh fetches every member even within the expiry', async (t) => {
  const { gatherer, members, cache } = setup();
  await gatherer.gather(MEMBERS, false);
  members.calls.length = 0;
  cache.writes = [];
  const r = await gatherer.gather(MEMBERS, true);
  t.equal(members.staticCalls(), 3);
  t.equal(cache.writes.length, 3);
  t.ok(r.members.every((m) => !m.cached));
});

void t.test('concurrent requests that find the cache missing share one fetch', async (t) => {
  const { gatherer, members, cache } = setup();
  const [a, b, c] = await Promise.all([gatherer.gather(MEMBERS, false), gatherer.gather(MEMBERS, false), gatherer.gather(MEMBERS, false)]);
  t.equal(members.staticCalls('c2'), 1, 'one static fetch of c2 for three requests');
  t.equal(cache.writes.filter((w) => w === 'c2').length, 1, 'one rewrite');
  t.strictSame([a, b, c].map((r) => r.members[1]!.cpus), [8, 8, 8], 'every request has the figures');
});

void t.test('an unreachable member is listed with its cached static figures, and the answer still comes', async (t) => {
  const { gatherer, members, timers } = setup();
  await gatherer.gather(MEMBERS, false);
  timers.advance(60_000);
  members.behaviour.set('c3', { kind: 'down' });
  const r = await gatherer.gather(MEMBERS, false);
  const c3 = r.members[2]!;
  t.strictSame([c3.reachable, c3.cached, c3.cpus, c3.cpuFlags], [false, true, 2, ['avx', 'sse2']]);
  t.match(c3.error, /c3 at 10\.0\.0\.3:7101: UNAVAILABLE/);
  // Read a minute ago (and in its cache file), but not by this call: the contract says null (attack 28 F6).
  t.strictSame([c3.diskFreeBytes, c3.loadAverage, c3.liveAt], [null, null, null], 'disk, load and their time are not shown old');
  t.strictSame(r.members[1]!.liveAt, new Date(timers.now).toISOString(), 'a member that answered: read now');
  t.ok(r.members[1]!.diskFreeBytes !== null && r.members[1]!.loadAverage !== null);
  t.strictSame(r.commonCpuFlags, ['avx', 'sse2'], 'common flags over reachable members only');

  members.behaviour.set('c2', { kind: 'down' });
  const fresh = setup();
  fresh.members.behaviour.set('c2', { kind: 'down' });
  const never = await fresh.gatherer.gather(MEMBERS, false);
  t.strictSame(
    [never.members[1]!.reachable, never.members[1]!.cached, never.members[1]!.cpus, never.members[1]!.liveAt],
    [false, false, null, null],
    'never reached and no cache: listed with nothing',
  );
  t.strictSame(never.commonCpuFlags, ['avx', 'sse2']);
});

void t.test('a silent member does not hold the answer beyond the deadline', async (t) => {
  const { gatherer, members, timers } = setup();
  members.behaviour.set('c2', { kind: 'silent' });
  const pending = gatherer.gather(MEMBERS, false);
  // Let the other members answer, then the deadline pass.
  await new Promise((r) => setImmediate(r));
  t.equal(timers.waiting, 1, "only c2's deadline is still armed");
  timers.advance(1000);
  const r = await pending;
  t.strictSame([r.members[1]!.reachable, r.members[1]!.error], [false, 'c2 at 10.0.0.2:7101 did not answer within 1000ms']);
  t.ok(r.members[0]!.reachable && r.members[2]!.reachable);
});

void t.test('a member answering garbage is unreachable and its cache is not rewritten', async (t) => {
  const { gatherer, members, cache } = setup();
  members.behaviour.set('c2', { kind: 'garbage' });
  const r = await gatherer.gather(MEMBERS, false);
  t.strictSame([r.members[1]!.reachable, r.members[1]!.cpus], [false, null]);
  t.match(r.members[1]!.error, /must be in \[1, 65536\], found 0/);
  t.notOk(cache.writes.includes('c2'));
});

void t.test('a cache that cannot be written does not lose the answer', async (t) => {
  const failed: string[] = [];
  const { gatherer, cache } = setup({ onCacheWriteFailed: (m) => failed.push(m) });
  cache.write = () => Promise.reject(new Error('EACCES'));
  const r = await gatherer.gather(MEMBERS, false);
  t.ok(r.members.every((m) => m.reachable && m.cpus !== null));
  t.strictSame(failed.sort(), ['c1', 'c2', 'c3']);
});

void t.test('commonFlags', async (t) => {
  t.strictSame(commonFlags([]), []);
  t.strictSame(commonFlags([['b', 'a', 'a']]), ['a', 'b']);
  t.strictSame(commonFlags([['a', 'b', 'c'], ['c', 'b'], ['b', 'c', 'd']]), ['b', 'c']);
});
