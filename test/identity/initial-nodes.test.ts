/** The initial configuration compared at a cluster's creation (src/identity/initial-nodes.ts). */
import t from 'tap';
import { decodeInitialNodes, describeDifference, encodeInitialNodes, initialNodes, MAX_INITIAL_NODES_CHARS, sameInitialNodes } from '../../src/identity/initial-nodes.js';

const a = initialNodes([
  { id: 'c2', address: '10.0.0.2:7101' },
  { id: 'c1', address: '10.0.0.1:7101' },
]);

void t.test('in id order, compared by id and address, and read back from the wire as written', async (t) => {
  t.same(a.map((n) => n.id), ['c1', 'c2']);
  t.ok(sameInitialNodes(a, initialNodes([...a].reverse())));
  t.notOk(sameInitialNodes(a, initialNodes([{ id: 'c1', address: '10.0.0.1:7101' }])), 'a member fewer');
  t.notOk(sameInitialNodes(a, initialNodes([a[0]!, { id: 'c2', address: '10.0.0.3:7101' }])), 'another address');
  t.same(decodeInitialNodes(encodeInitialNodes(a)), a);
  t.equal(describeDifference(a, initialNodes([a[0]!, { id: 'c3', address: 'x:1' }]), 'c3'), 'c2 only here; c3 only at c3');
});

void t.test('the wire form: empty is a peer that does not say; anything malformed is named', async (t) => {
  t.equal(decodeInitialNodes(''), null);
  t.match(decodeInitialNodes('{'), /does not parse/);
  t.match(decodeInitialNodes('[]'), /non-empty JSON array/);
  t.match(decodeInitialNodes('{"c1":"x"}'), /non-empty JSON array/);
  t.match(decodeInitialNodes('[["c1"]]'), /\[id, address\] pair of strings/);
  t.match(decodeInitialNodes('[["", "x:1"]]'), /\[id, address\] pair of strings/);
  t.match(decodeInitialNodes('[["c1", 7]]'), /\[id, address\] pair of strings/);
  t.match(decodeInitialNodes(`[["c1", "${'x'.repeat(MAX_INITIAL_NODES_CHARS)}"]]`), /at most 65536 characters/);
});
