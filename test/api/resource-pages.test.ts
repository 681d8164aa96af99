/**
 * `ctl get services|routes` in pages (src/api/resource-pages.ts): the server cuts pages by count and
 * by bytes, in name order; the client fetches them all and prints exactly what the unpaged answer
 * printed (table, json, yaml). The single-name form and an old server (which ignores paging and
 * answers everything) still work.
 */
import t from 'tap';
import { meshOps } from '../../src/api/mesh-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { allPages, pageOf } from '../../src/api/resource-pages.js';
import { renderResources } from '../../src/cli/agents-output.js';
import { LIST_FORMATS } from '../../src/cli/output.js';
import { meshKind, parseResource, resourceJson, type Resource, type ResourceType } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

function setup() {
  const host = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c1', host, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding in this test')) } });
  const ops = meshOps({ host, stateMachine: host.sm, onLeader, isMember: () => true, self: 'c1' });
  return { host, ops };
}
const deadline = () => Date.now() + 2000;
const decode = (bytes: Uint8Array): Resource[] =>
  (JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown[]).map((r, i) => resourceJson(parseResource(r, `resources[${i}]`, (m) => new Error(m))));

async function seeded() {
  const { host, ops } = setup();
  // Names whose order as strings differs from the order they are written in; labels of varied size.
  const services = Array.from({ length: 257 }, (_, i) => ({ kind: 'service', name: `svc-${(i * 7919) % 1000}`, spec: { protocol: 'http', ports: [80 + (i % 5)] }, labels: { note: 'x'.repeat(i % 200) } }));
  const routes = Array.from({ length: 40 }, (_, i) => ({ kind: 'route', name: `r${i}`, spec: { from: services[i]!.name, to: services[i + 1]!.name } }));
  await ops.apply({ resources: Buffer.from(JSON.stringify([...services, ...routes])), clientId: 'ctl', clientSeq: 1, forwarded: false }, deadline());
  return { host, ops };
}

void t.test('pages return every resource of a kind, in name order, and print exactly what the unpaged answer prints', async (t) => {
  const { ops } = await seeded();
  for (const kind of ['service', 'route'] as ResourceType[]) {
    const whole = await ops.get({ kind, name: '', serializable: false, after: '', limit: 0 }, deadline());
    t.equal(whole.more, false, `${kind}: limit 0 answers everything at once, as before paging`);
    const unpaged = decode(whole.resources);
    for (const limit of [1, 7, 100, 1000]) {
      let pages = 0;
      const paged = await allPages(async (after) => {
        pages++;
        const r = await ops.get({ kind, name: '', serializable: false, after, limit }, deadline());
        return { items: decode(r.resources), more: r.more };
      });
      t.equal(pages, Math.max(1, Math.ceil(unpaged.length / limit)), `${kind}, limit ${limit}: ${pages} page(s)`);
      t.same(paged, unpaged, `${kind}, limit ${limit}: the same resources in the same order`);
      for (const format of LIST_FORMATS) t.equal(renderResources(paged, format), renderResources(unpaged, format), `${kind}, limit ${limit}: the same ${format} output`);
    }
  }
  const one = await ops.get({ kind: 'service', name: 'svc-0', serializable: false, after: '', limit: 0 }, deadline());
  t.same(decode(one.resources).map((r) => r.name), ['svc-0'], 'the single-name form is unchanged');
  await t.rejects(ops.get({ kind: 'service', name: 'nope', serializable: false, after: '', limit: 5 }, deadline()), { code: 'NOT_FOUND' }, 'and still answers NOT_FOUND');
});

void t.test('a page is bounded by bytes too (at least one resource), and an old server that answers everything ends the fetch', async (t) => {
  const { host } = await seeded();
  const sorted = host.sm.view(meshKind).listOf('service');
  const page = pageOf(sorted, '', 1_000, 2_000);
  const items = JSON.parse(page.json) as unknown[];
  t.ok(items.length > 1 && items.length < sorted.length && page.more, `a 2,000-byte page holds ${items.length} of ${sorted.length}`);
  t.ok(page.json.length < 2_000 + 400, `and stops soon after the bound (${page.json.length} bytes)`);
  t.same(JSON.parse(pageOf(sorted, '', 1_000, 1).json), [resourceJson(sorted[0]!)], 'a page holds at least one resource');
  t.same(pageOf(sorted, sorted.at(-1)!.name, 10), { json: '[]', more: false }, 'after the last name: an empty last page');
  let calls = 0;
  const all = await allPages(async () => (calls++, { items: sorted, more: false }));
  t.equal(calls, 1, 'an old server (more never set) is asked once');
  t.equal(all.length, sorted.length);
  await t.rejects(allPages(async () => ({ items: [sorted[0]!], more: true })), /does not page by name/, 'a server that does not advance cannot make the client loop');
});
