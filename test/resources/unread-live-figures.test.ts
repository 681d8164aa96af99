/**
 * Attack 28 F6: a member that does not answer was shown with the disk free and load read on an
 * earlier call, beside fresh figures of the others and without a marker. From the gatherer
 * through the wire to `ctl resources`: both are null in the JSON (liveAt too) and `-` in the
 * table, while its cached static figures are still shown.
 */
import t from 'tap';
import { decodeResources, resourcesToWire } from '../../src/api/resources-wire.js';
import { renderResources } from '../../src/cli/resources-output.js';
import { ResourcesGatherer } from '../../src/resources/gatherer.js';
import type { ResourceMember } from '../../src/resources/types.js';
import { FakeMembers, ManualTimers, MemoryCache, machine } from './fakes.js';

const MEMBERS: ResourceMember[] = [
  { id: 'c1', address: '10.0.0.1:7101', incarnation: '00000000000000c1' },
  { id: 'c2', address: '10.0.0.2:7101', incarnation: '00000000000000c2' },
];

void t.test('an unreachable member: no old disk or load in the JSON or the table, its cached static figures kept', async (t) => {
  const timers = new ManualTimers();
  const members = new FakeMembers(() => timers.now);
  members.behaviour.set('c1', { kind: 'answer', static: machine(4, ['sse2']) });
  members.behaviour.set('c2', { kind: 'answer', static: machine(8, ['sse2']) });
  const gatherer = new ResourcesGatherer({ self: 'c1', fetch: members.fetch, cache: new MemoryCache(), clock: timers, ttlMs: 3_600_000, deadlineMs: 1000 });
  await gatherer.gather(MEMBERS, false);
  timers.advance(20_000);
  members.behaviour.set('c2', { kind: 'down' });

  const answer = decodeResources(resourcesToWire(await gatherer.gather(MEMBERS, false)));
  const json = JSON.parse(renderResources(answer, 'json')) as { members: Record<string, unknown>[] };
  const c2 = json.members[1]!;
  t.strictSame(
    [c2['reachable'], c2['cached'], c2['cpus'], c2['memoryBytes']],
    [false, true, 8, 8 * 1024 ** 3],
    'the static figures from the cache, marked cached',
  );
  t.strictSame([c2['diskFreeBytes'], c2['loadAverage'], c2['liveAt']], [null, null, null], 'disk, load and their time: null, not the figures of 20 s ago');
  t.strictSame([json.members[0]!['diskFreeBytes'], json.members[0]!['liveAt']], [1e9, new Date(timers.now).toISOString()], 'the member that answered: read now');

  const rows = renderResources(answer, 'table').split('\n').map((l) => l.split(/ {2,}/));
  const head = rows[0]!;
  const c2Row = rows.find((r) => r[0] === 'c2')!;
  const cell = (row: readonly string[], name: string): string | undefined => row[head.indexOf(name)];
  t.strictSame([cell(c2Row, 'DISK-FREE'), cell(c2Row, 'LOAD'), cell(c2Row, 'CPUS')], ['-', '-', '8'], 'the table: - for what was not read, the cached CPUs kept');
  const c1Row = rows.find((r) => r[0] === 'c1')!;
  t.strictSame([cell(c1Row, 'DISK-FREE'), cell(c1Row, 'LOAD')], ['953.7MiB', '0.50 0.25 0.13']);
});
