/** Operator round 17: a member the cluster file leaves out is named, with the command that removes it (src/config/omitted-members.ts). */
import t from 'tap';
import { omittedMemberWarnings } from '../../src/config/omitted-members.js';

const file = [{ id: 'c1' }, { id: 'c2' }];

void t.test('a file that lists every member says nothing; one that lists more than the cluster has says nothing here either', async (t) => {
  t.same(omittedMemberWarnings('/etc/c.yaml', file, [{ id: 'c1', role: 'voter' }, { id: 'c2', role: 'voter' }]), []);
  t.same(omittedMemberWarnings('/etc/c.yaml', [...file, { id: 'c3' }], [{ id: 'c1', role: 'voter' }, { id: 'c2', role: 'voter' }]), []);
});

void t.test('a voter and a learner left out of the file are each named, with what they still count for and how to remove them', async (t) => {
  const members = [
    { id: 'c1', role: 'voter' as const },
    { id: 'c2', role: 'voter' as const },
    { id: 'c3', role: 'voter' as const },
    { id: 'c4', role: 'learner' as const },
  ];
  t.same(omittedMemberWarnings('/etc/c.yaml', file, members), [
    '/etc/c.yaml: cluster.nodes does not list c3, a voter of the cluster (ctl member list). The file only creates a cluster and names the peers to ask at start, ' +
      'so leaving a member out of it removes nothing: it still votes and counts in every quorum (3 voters, 2 needed). If c3 is gone for good, remove it: ctl member remove c3; otherwise put it back in the file',
    '/etc/c.yaml: cluster.nodes does not list c4, a learner of the cluster (ctl member list). The file only creates a cluster and names the peers to ask at start, ' +
      'so leaving a member out of it removes nothing: it is still a learner of the cluster, and the leader still replicates to it. If c4 is gone for good, remove it: ctl member remove c4; otherwise put it back in the file',
  ]);
});
