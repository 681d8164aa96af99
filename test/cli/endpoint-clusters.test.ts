/** `ctl endpoint status`: which clusters the endpoints answer for (src/cli/ctl/endpoint.ts). */
import t from 'tap';
import { mixedClusters, type EndpointStatusJson } from '../../src/cli/ctl/endpoint.js';

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
