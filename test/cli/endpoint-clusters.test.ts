/** `ctl endpoint status`: which clusters the endpoints answer for (src/cli/ctl/endpoint.ts). */
import t from 'tap';
import { mixedClusters, otherClusterPeers, type EndpointStatusJson } from '../../src/cli/ctl/endpoint.js';

const row = (endpoint: string, cluster: string | null, clusterId: string | null): EndpointStatusJson => ({
  endpoint,
  id: null,
  version: null,
  role: null,
  leader: null,
  term: null,
  commitIndex: null,
  appliedIndex: null,
  lastIndex: null,
  snapshotIndex: null,
  dbSizeBytes: null,
  revision: null,
  latencyMs: cluster === null ? null : 1,
  errors: [],
  cluster,
  clusterId,
  otherClusterPeers: [],
});

void t.test('one cluster, or endpoints that did not answer, or a cluster without an id yet: nothing to say', async (t) => {
  t.equal(mixedClusters([row('a:1', 'prod', 'aa'), row('b:1', 'prod', 'aa'), row('c:1', null, null)]), null);
  t.equal(mixedClusters([row('a:1', 'prod', 'aa'), row('b:1', 'prod', null)]), null, 'a member that has not learned the id yet is not another cluster');
});

void t.test('another name or another id: every cluster named with its endpoints', async (t) => {
  t.equal(mixedClusters([row('a:1', 'prod', 'aa'), row('b:1', 'staging', 'bb'), row('c:1', 'prod', 'aa')]), 'a:1, c:1 answer for cluster prod (aa); b:1 answer for cluster staging (bb)');
  t.equal(mixedClusters([row('a:1', 'prod', null), row('b:1', 'staging', null)]), 'a:1 answer for cluster prod; b:1 answer for cluster staging', 'names alone, before any id');
});

void t.test('endpoints that hear peers answer for another cluster id: each named with those peers (B1)', async (t) => {
  const a = row('a:1', 'prod', 'aa');
  t.equal(otherClusterPeers([a, row('b:1', null, null)]), null, 'none heard');
  const hearing: EndpointStatusJson = { ...a, id: 'c1', otherClusterPeers: [{ peer: 'c2', clusterId: 'bb', lastSeenMs: 10 }, { peer: 'c3', clusterId: null, lastSeenMs: 20 }] };
  t.equal(otherClusterPeers([hearing, row('b:1', 'prod', 'aa')]), 'c1 hears c2 answer for cluster bb, c3 answer for cluster unknown');
});
