/** The cluster file's addresses against the replicated membership's (src/node/file-addresses.ts). */
import t from 'tap';
import { fileAddressWarnings, selfAddressProblem } from '../../src/node/file-addresses.js';

const members = [
  { id: 'c1', address: '10.0.0.1:7101' },
  { id: 'c2', address: '10.0.0.2:7101' },
  { id: 'c3', address: '10.0.0.3:7101' },
];

void t.test('a file that agrees, or lists members the cluster does not have (or the reverse), says nothing', async (t) => {
  t.same(fileAddressWarnings('/etc/c.yaml', members, members), []);
  t.same(fileAddressWarnings('/etc/c.yaml', [...members, { id: 'c4', address: '10.0.0.4:7101' }], members.slice(0, 2)), []);
  t.same(fileAddressWarnings('/etc/c.yaml', members, [...members.slice(0, 2), { id: 'c3', address: '' }]), [], 'a member whose address is unknown');
});

void t.test('a moved host and two swapped addresses are named, with the address this node dials', async (t) => {
  const moved = fileAddressWarnings('/etc/c.yaml', [members[0]!, members[1]!, { id: 'c3', address: '10.0.9.3:7101' }], members);
  t.same(moved, [
    '/etc/c.yaml: cluster.nodes lists c3 at 10.0.9.3:7101, but the cluster has c3 at 10.0.0.3:7101 (ctl member list): this node dials 10.0.0.3:7101, and asks 10.0.9.3:7101 only at start-up. Fix the file so the two agree',
  ]);
  const swapped = fileAddressWarnings('/etc/c.yaml', [{ id: 'c1', address: members[1]!.address }, { id: 'c2', address: members[0]!.address }, members[2]!], members);
  t.equal(swapped.length, 2);
  t.match(swapped[0], /lists c1 at 10\.0\.0\.2:7101 \(the cluster's address of c2: addresses swapped\?\), but the cluster has c1 at 10\.0\.0\.1:7101/);
  t.match(swapped[1], /lists c2 at 10\.0\.0\.1:7101 \(the cluster's address of c1: addresses swapped\?\)/);
});

void t.test("this member's own address: a problem only when the cluster has it elsewhere", async (t) => {
  t.equal(selfAddressProblem('/etc/c.yaml', members[1]!, members), null, 'the same address');
  t.equal(selfAddressProblem('/etc/c.yaml', { id: 'c2', address: 'localhost:7101' }, [{ id: 'c2', address: '127.0.0.1:7101' }]), null, 'the same address spelled another way');
  t.equal(selfAddressProblem('/etc/c.yaml', { id: 'c4', address: '10.0.0.4:7101' }, members), null, 'a member the cluster has no record of yet');
  t.equal(selfAddressProblem('/etc/c.yaml', members[1]!, [members[0]!, { id: 'c2', address: '' }]), null, 'a record without an address yet');
  t.equal(
    selfAddressProblem('/etc/c.yaml', { id: 'c2', address: '10.0.0.2:7999' }, members),
    '/etc/c.yaml: cluster.nodes lists this member, c2, at 10.0.0.2:7999, but the cluster has it at 10.0.0.2:7101 (ctl member list), where every peer dials it: ' +
      'listening at 10.0.0.2:7999 it would hear none of them. Put 10.0.0.2:7101 back in the file; to move c2 to 10.0.0.2:7999: ' +
      'ctl member remove c2; ctl member add c2 10.0.0.2:7999; start it with an empty data dir and --join (docs/operate.md, "Rebuilding a lost member")',
  );
});
