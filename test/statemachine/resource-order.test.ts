/**
 * The mesh's sorted list is kept by merging in what changed since the last listing
 * (src/statemachine/resource-order.ts): every change used to sort every resource again at the
 * next listing, 30-190 ms of a loaded controller's loop at 75,000 services, once per change.
 * Changes are drawn from a seeded generator (seed printed).
 */
import t from 'tap';
import { ResourceOrder } from '../../src/statemachine/resource-order.js';
import { compareResources, encodeCommand, meshKind, StateMachine, type KindCommand, type Resource, type ResourceType } from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';

const SEED = 910;

const resource = (kind: ResourceType, name: string, revision: number): Resource =>
  kind === 'service' ? { kind, name, spec: { protocol: 'http', ports: [80] }, labels: {}, status: {}, revision } : { kind, name, spec: { from: 'a', to: 'b' }, labels: {}, status: {}, revision };

void t.test(`a listing after writes and removes is the whole sort, and one handed out never changes (seed ${SEED})`, async (t) => {
  const rng = seededRng(SEED);
  const maps: Record<ResourceType, Map<string, Resource>> = { service: new Map(), route: new Map() };
  const order = new ResourceOrder();
  const names = Array.from({ length: 400 }, (_, i) => `n${(i * 37) % 400}${rng.next() < 0.2 ? '-x' : ''}`);
  const handed: { list: readonly Resource[]; copy: readonly Resource[] }[] = [];
  let wrong = 0;
  let listings = 0;
  for (let step = 0; step < 4000; step++) {
    const kind: ResourceType = rng.next() < 0.7 ? 'service' : 'route';
    const name = names[Math.floor(rng.next() * names.length)]!;
    const r = rng.next();
    if (r < 0.6) maps[kind].set(name, resource(kind, name, step));
    else maps[kind].delete(name);
    order.touch(kind, name);
    if (rng.next() < 0.02) {
      // A snapshot's load: everything again.
      order.reset();
    }
    if (rng.next() < 0.1) {
      const list = order.list(maps.service, maps.route);
      const expected = [...maps.route.values(), ...maps.service.values()].sort(compareResources);
      listings++;
      if (list.length !== expected.length || list.some((x, i) => x !== expected[i])) wrong++;
      if (handed.length < 20) handed.push({ list, copy: [...list] });
    }
  }
  t.ok(listings > 300, `${listings} listings`);
  t.equal(wrong, 0, 'every listing is the resources sorted by kind, then name');
  t.ok(
    handed.every((h) => h.list.length === h.copy.length && h.list.every((x, i) => x === h.copy[i])),
    'the lists handed out earlier are as they were',
  );
});

void t.test("a listing after one change of a big mesh sorts no more than what changed", async (t) => {
  const sm = new StateMachine();
  const apply = (resources: unknown[]): void => {
    const r = sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources } as KindCommand));
    if (!r.ok) throw new Error(`apply refused: ${r.message}`);
  };
  const service = (name: string, port: number) => ({ kind: 'service', name, spec: { protocol: 'http', ports: [port] }, labels: {} });
  for (let b = 0; b < 20_000; b += 2_000) apply(Array.from({ length: 2_000 }, (_, i) => service(`s-${((b + i) * 7919) % 20_000}`, 80)));
  const mesh = sm.view(meshKind);
  const before = mesh.list();
  t.equal(before.length, 20_000);
  apply([service('s-77', 81), service('s-77a', 80)]);
  const sorted: number[] = [];
  const sort = Array.prototype.sort;
  Array.prototype.sort = function <T>(this: T[], compare?: (a: T, b: T) => number): T[] {
    sorted.push(this.length);
    return sort.call(this, compare) as T[];
  };
  let after: readonly Resource[];
  try {
    after = mesh.list();
  } finally {
    Array.prototype.sort = sort;
  }
  t.equal(after.length, 20_001);
  t.same(after.map((r) => r.name), [...after].sort(compareResources).map((r) => r.name), 'sorted');
  t.equal(after.find((r) => r.name === 's-77')?.kind === 'service' && after.find((r) => r.name === 's-77')!.revision, sm.revision(), 'the changed service is the new one');
  t.ok(Math.max(0, ...sorted) <= 2, `the sorts made: ${JSON.stringify(sorted)} (items each), not 20,001`);
  t.equal(before.length, 20_000, 'the list handed out before is unchanged');
});
