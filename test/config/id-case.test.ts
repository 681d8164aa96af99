/** Operator round 17: member ids that differ only in case (src/config/id-case.ts). */
import t from 'tap';
import { caseTwinHint, caseTwinNodesWarning, caseTwinOf } from '../../src/config/id-case.js';

void t.test('the member whose id differs only in case is found; the id itself and other ids are not', async (t) => {
  t.equal(caseTwinOf('C1', ['c1', 'c2']), 'c1');
  t.equal(caseTwinOf('c1', ['c1', 'c2']), null, 'the id itself');
  t.equal(caseTwinOf('c1', ['C1', 'c1']), 'C1', 'beside itself, a twin is still one');
  t.equal(caseTwinOf('c10', ['c1', 'C1']), null);
  t.equal(caseTwinHint('NODE-a', ['node-A']), ' (member node-A differs only in case: ids are case-sensitive)');
  t.equal(caseTwinHint('c9', ['c1']), '');
});

void t.test('a cluster file whose ids differ only in case is named once, with every such group', async (t) => {
  t.equal(caseTwinNodesWarning('/etc/c.yaml', [{ id: 'c1' }, { id: 'c2' }]), null);
  t.equal(
    caseTwinNodesWarning('/etc/c.yaml', [{ id: 'c1' }, { id: 'C1' }, { id: 'c2' }, { id: 'db-A' }, { id: 'DB-a' }]),
    '/etc/c.yaml: cluster.nodes has ids that differ only in case (c1 and C1; db-A and DB-a): member ids are case-sensitive, so each is a member of its own and counts in the quorum. ' +
      'If one is a typo of the other, fix the file before the cluster is created; in a running cluster, remove the member that does not run (ctl member remove ID)',
  );
});
