/** A Status answer decodes the cluster version, and an older server's answer (without it) still decodes. */
import t from 'tap';
import { decodeStatus } from '../../src/api/answers.js';

/** A Status answer as a 0.1 server sent it (proto defaults filled in, no cluster_version). */
const OLDER = {
  id: 'c1',
  term: 3,
  leader: 'c1',
  role: 'leader',
  commitIndex: 10,
  appliedIndex: 10,
  lastIndex: 11,
  firstIndex: 1,
  voters: ['c1', 'c2', 'c3'],
  learners: [],
  version: '0.1.0',
  snapshotIndex: 0,
  cluster: 'local',
  clusterId: '00000000000000aa',
  commitStallMs: 0,
  commitStalled: false,
  stale: false,
  staleReason: '',
};

void t.test('clusterVersion: the server\'s value, null when absent or empty', async (t) => {
  t.equal(decodeStatus({ ...OLDER, clusterVersion: '0.2' }).clusterVersion, '0.2');
  t.equal(decodeStatus(OLDER).clusterVersion, null, 'absent: a server that predates it');
  t.equal(decodeStatus({ ...OLDER, clusterVersion: '' }).clusterVersion, null, "'' (proto3's default): the same");
  t.match(decodeStatus(OLDER), { id: 'c1', version: '0.1.0', voters: ['c1', 'c2', 'c3'] }, 'the rest of an older answer decodes as before');
  t.throws(() => decodeStatus({ ...OLDER, clusterVersion: 2 }), { message: /clusterVersion/ }, 'a wrong type is a server bug, named');
});
