/** What a running controller knows a restart with its re-read file would be refused for (SIGHUP). */
import t from 'tap';
import { clusterNameProblem, restartProblem } from '../../src/node/restart-problems.js';

const members = [
  { id: 'c1', address: '10.0.0.1:7101' },
  { id: 'c2', address: '10.0.0.2:7101' },
  { id: 'c3', address: '10.0.0.3:7101' },
];
const next = (over: { clusterName?: string; address?: string; dataDir?: string } = {}) => ({
  file: '/etc/c.yaml',
  clusterName: over.clusterName ?? 'prod',
  self: { id: 'c1', address: over.address ?? '10.0.0.1:7101' },
  dataDir: over.dataDir ?? '/var/lib/c1',
});
const running = { clusterName: 'prod', dataDir: '/var/lib/c1' };
/** A file system where only the listed data dirs hold Raft state, and only equal paths are one dir. */
const disk = (...holding: string[]) => ({ holdsRaftState: (d: string) => holding.includes(d), sameDir: (a: string, b: string) => a === b });

void t.test('a cluster.name edited in the file is named as the refusal a restart meets, while peers run the old one', async (t) => {
  t.equal(
    restartProblem(next({ clusterName: 'prdo' }), running, members),
    '/etc/c.yaml: cluster.name: "prdo", but this controller and its peers (c2, c3) run cluster "prod", and each refuses every message of another name: ' +
      'a restart with this file is refused (CLUSTER_NAME) while most of them run. Put "prod" back (a typo, or another cluster\'s file?)',
  );
  t.equal(restartProblem(next(), running, members), null, 'the same name');
  t.equal(clusterNameProblem('/etc/c.yaml', 'c1', { file: 'new', running: 'prod' }, [members[0]!]), null, 'alone in its cluster: no peer refuses a new name');
});

void t.test("its own address moved comes first, in the start's words", async (t) => {
  t.match(restartProblem(next({ clusterName: 'prdo', address: '10.0.0.9:7101' }), running, members), /^\/etc\/c\.yaml: cluster\.nodes lists this member, c1, at 10\.0\.0\.9:7101, but the cluster has it at 10\.0\.0\.1:7101/);
  t.equal(restartProblem(next({ address: '10.0.0.9:7101' }), running, [{ id: 'c1', address: '' }]), null, 'no address recorded yet');
});

void t.test('a data_dir moved to a dir holding no Raft state is named as the empty start the restart would make', async (t) => {
  t.equal(
    restartProblem(next({ dataDir: '/mnt/new/c1' }), running, members, disk('/var/lib/c1')),
    '/etc/c.yaml: controller.data_dir: /mnt/new/c1 holds no Raft state, but c1 runs on /var/lib/c1, which does: a restart with this file ' +
      'would start c1 empty, refused (ALREADY_BOOTSTRAPPED) while its peers answer, and with none answering it would bootstrap a new, ' +
      'empty cluster. To move the data dir: stop the controller, move /var/lib/c1 to /mnt/new/c1, then start it; otherwise put /var/lib/c1 back in the file',
  );
  t.equal(restartProblem(next({ dataDir: '/mnt/new/c1' }), running, [members[0]!], disk('/var/lib/c1')) !== null, true, 'alone in its cluster too: that restart loses the most');
  t.equal(restartProblem(next({ dataDir: '/mnt/new/c1' }), running, members, disk('/var/lib/c1', '/mnt/new/c1')), null, 'the data already moved there');
  t.equal(restartProblem(next({ dataDir: '/mnt/new/c1' }), running, members, disk()), null, 'running on no Raft state itself: nothing to lose');
  t.equal(restartProblem(next(), running, members, disk('/var/lib/c1')), null, 'the same dir');
  const linked = { holdsRaftState: (d: string) => d === '/var/lib/c1', sameDir: () => true };
  t.equal(restartProblem(next({ dataDir: '/srv/link-to-c1' }), running, members, linked), null, 'another spelling of the same dir');
});
