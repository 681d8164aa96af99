/** The check that a client's endpoints are one cluster's (src/api/one-cluster.ts). */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { describeMixedClusters, GRACE_MS, graceAfter, MIN_GRACE_MS, MixedClustersError, OneClusterCheck, type IdentityProbe } from '../../src/api/one-cluster.js';
import { identityOf, type ClusterIdentity } from '../../src/api/cluster-identity.js';
import { exitCodeFor } from '../../src/api/errors.js';

const prod: ClusterIdentity = { name: 'prod', id: 'aa' };
const staging: ClusterIdentity = { name: 'staging', id: 'bb' };

void t.test('one cluster, an endpoint not heard, or a member without the id yet: nothing to say', async (t) => {
  const ends = ['a:1', 'b:1', 'c:1'];
  t.equal(describeMixedClusters(ends, new Map([['a:1', prod], ['b:1', prod]])), null);
  t.equal(describeMixedClusters(ends, new Map([['a:1', prod], ['b:1', { name: 'prod', id: null }]])), null);
});

void t.test('another id, or another name: each cluster with its endpoints, in the order given', async (t) => {
  const heard = new Map([['a:1', prod], ['b:1', staging], ['c:1', prod]]);
  t.equal(describeMixedClusters(['a:1', 'b:1', 'c:1'], heard), 'a:1, c:1 answer for cluster prod (aa); b:1 answer for cluster staging (bb)');
  t.equal(describeMixedClusters(['a:1', 'b:1'], new Map([['a:1', prod], ['b:1', { name: 'prod', id: 'cc' }]])), 'a:1 answer for cluster prod (aa); b:1 answer for cluster prod (cc)', 'one name, two ids: a restore run twice');
  t.equal(describeMixedClusters(['a:1', 'b:1'], new Map([['a:1', { name: 'prod', id: null }], ['b:1', { name: 'staging', id: null }]])), 'a:1 answer for cluster prod; b:1 answer for cluster staging', 'names alone, before any id');
});

const refusal = (p: Promise<void>): Promise<unknown> => p.then(() => null, (e: unknown) => e);

function probeOf(answers: Readonly<Record<string, ClusterIdentity | null | 'hang' | 'fail'>>, asked: string[]): IdentityProbe {
  return async (endpoint) => {
    asked.push(endpoint);
    const a = answers[endpoint];
    if (a === 'hang') return new Promise<never>(() => {});
    if (a === 'fail' || a === undefined) throw new Error(`${endpoint} refused`);
    return a;
  };
}

void t.test('endpoints of two clusters: the request is refused, exit 2, naming both and where the list came from', async (t) => {
  const asked: string[] = [];
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1'], probe: probeOf({ 'a:1': prod, 'b:1': staging }, asked), boundMs: 1000, source: '$CTL_ENDPOINTS' });
  const err = await refusal(check.check('the put of "k"'));
  t.type(err, MixedClustersError);
  t.equal(exitCodeFor(err), 2);
  t.equal(
    (err as Error).message,
    'the endpoints belong to different clusters: a:1 answer for cluster prod (aa); b:1 answer for cluster staging (bb); refusing to send the put of "k", which would go to whichever answers first; give $CTL_ENDPOINTS the endpoints of one cluster',
  );
  t.type(await refusal(check.check('the read of "k"')), MixedClustersError, 'and every later request');
  t.same(asked, ['a:1', 'b:1'], 'each endpoint asked once');
});

void t.test('an endpoint already heard from is not asked again; one endpoint is never asked', async (t) => {
  const asked: string[] = [];
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1'], probe: probeOf({ 'a:1': prod, 'b:1': prod }, asked), boundMs: 1000, source: '--endpoints' });
  check.record('a:1', prod);
  await check.check('the put');
  t.same(asked, ['b:1']);
  const single: string[] = [];
  await new OneClusterCheck({ endpoints: ['a:1'], probe: probeOf({}, single), boundMs: 1000, source: '--endpoints' }).check('the put');
  t.same(single, []);
});

void t.test('an answer from another cluster heard later refuses the next request', async (t) => {
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1'], probe: probeOf({ 'a:1': prod, 'b:1': null }, []), boundMs: 1000, source: '--endpoints' });
  await check.check('the put');
  check.record('b:1', staging);
  t.type(await refusal(check.check('the put')), MixedClustersError);
});

void t.test('endpoints that fail, hang or answer without an identity (an older controller) are not judged', async (t) => {
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1', 'c:1', 'd:1'], probe: probeOf({ 'a:1': prod, 'b:1': 'fail', 'c:1': 'hang', 'd:1': null }, []), boundMs: 50, source: '--endpoints' });
  const started = Date.now();
  await check.check('the put');
  t.ok(Date.now() - started < 5000, 'the hung endpoint cost the bound, not forever');
});

void t.test('a blackholed endpoint costs the grace after the first identity, not the whole bound', async (t) => {
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1', 'c:1'], probe: probeOf({ 'a:1': prod, 'b:1': prod, 'c:1': 'hang' }, []), boundMs: 600_000, source: '--endpoints' });
  const started = Date.now();
  await check.check('the put');
  const took = Date.now() - started;
  // Operator round 17: endpoints that answer at once give the silent one the least grace, not 750 ms.
  t.ok(took >= MIN_GRACE_MS - 20 && took < GRACE_MS, `${took}ms`);
});

void t.test("the grace is four times the first answer's wait, within [250 ms, 750 ms]; an identity heard before gets the most", async (t) => {
  t.equal(graceAfter(2), MIN_GRACE_MS);
  t.equal(graceAfter(100), 400);
  t.equal(graceAfter(190), GRACE_MS);
  t.equal(graceAfter(null), GRACE_MS);
});

void t.test('a slower list: an endpoint of another cluster answering three times later than the first is still judged', async (t) => {
  const late = (identity: ClusterIdentity, ms: number): Promise<ClusterIdentity> => new Promise((resolve) => setTimeout(() => resolve(identity), ms));
  const probe: IdentityProbe = (endpoint) => (endpoint === 'a:1' ? late(prod, 100) : late(staging, 300));
  const check = new OneClusterCheck({ endpoints: ['a:1', 'b:1'], probe, boundMs: 600_000, source: '--endpoints' });
  t.type(await refusal(check.check('the put')), MixedClustersError);
});

void t.test("an answer's metadata: the identity it carries, or none", async (t) => {
  const md = new grpc.Metadata();
  t.equal(identityOf(md), null, 'an older controller');
  md.set('cluster-name', 'prod');
  t.same(identityOf(md), { name: 'prod', id: null }, 'before the first leader drew an id');
  md.set('cluster-id', 'aa');
  t.same(identityOf(md), prod);
});
