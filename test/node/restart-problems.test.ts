/** What a running controller knows a restart with its re-read file would be refused for (SIGHUP). */
import t from 'tap';
import { clusterNameProblem, restartProblem } from '../../src/node/restart-problems.js';

const members = [
  { id: 'c1', address: '10.0.0.1:7101' },
  { id: 'c2', address: '10.0.0.2:7101' },
  { id: 'c3', address: '10.0.0.3:7101' },
];
const next = (over: { clusterName?: string; address?: string } = {}) => ({
  file: '/etc/c.yaml',
  clusterName: over.clusterName ?? 'prod',
  self: { id: 'c1', address: over.address ?? '10.0.0.1:7101' },
});

void t.test('a cluster.name edited in the file is named as the refusal a restart meets, while peers run the old one', async (t) => {
  t.equal(
    restartProblem(next({ clusterName: 'prdo' }), 'prod', members),
    '/etc/c.yaml: cluster.name: "prdo", but this controller and its peers (c2, c3) run cluster "prod", and each refuses every message of another name: ' +
      'a restart with this file is refused (CLUSTER_NAME) while most of them run. Put "prod" back (a typo, or another cluster\'s file?)',
  );
  t.equal(restartProblem(next(), 'prod', members), null, 'the same name');
  t.equal(clusterNameProblem('/etc/c.yaml', 'c1', { file: 'new', running: 'prod' }, [members[0]!]), null, 'alone in its cluster: no peer refuses a new name');
});

void t.test("its own address moved comes first, in the start's words", async (t) => {
  t.match(restartProblem(next({ clusterName: 'prdo', address: '10.0.0.9:7101' }), 'prod', members), /^\/etc\/c\.yaml: cluster\.nodes lists this member, c1, at 10\.0\.0\.9:7101, but the cluster has it at 10\.0\.0\.1:7101/);
  t.equal(restartProblem(next({ address: '10.0.0.9:7101' }), 'prod', [{ id: 'c1', address: '' }]), null, 'no address recorded yet');
});
