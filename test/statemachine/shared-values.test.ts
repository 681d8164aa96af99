import t from 'tap';
import { MAX_SHARED, SharedValues } from '../../src/statemachine/shared-values.js';

void t.test('equal lists and strings come back as one shared copy that cannot change', async (t) => {
  const shared = new SharedValues();
  const a = shared.list(['http', 'tcp']);
  const b = shared.list(['http', 'tcp']);
  t.equal(a, b, 'equal lists share one array');
  t.not(shared.list(['http']), a, 'a different list is another array');
  t.same(a, ['http', 'tcp']);
  t.ok(Object.isFrozen(a), 'a shared list is frozen');
  t.equal(shared.list([]), shared.list([]), 'every empty list is one array');
  const mine = ['grpc'];
  const held = shared.list(mine);
  mine.push('http');
  t.same(held, ['grpc'], "the caller's array changing later does not change the shared one");
  const c1 = `connected to ${'c1'}`;
  t.equal(shared.string(c1), c1);
  t.equal(shared.string(['connected', 'to', 'c1'].join(' ')), c1, 'an equal string is the one held');
  const info = shared.info({ protocols: ['http', 'tcp'], lazy: true, dependencies: [], hosts: ['web'] });
  t.same(info, { protocols: ['http', 'tcp'], lazy: true, dependencies: [], hosts: ['web'] });
  t.equal(info.protocols, a, "a declaration's lists are the shared ones");
});

void t.test('beyond MAX_SHARED distinct values nothing more is held, and every value is still right', async (t) => {
  const shared = new SharedValues();
  for (let i = 0; i < MAX_SHARED; i++) shared.list([`s${i}`]);
  const late = shared.list(['late']);
  t.same(late, ['late'], 'a value beyond the bound is returned as it is');
  t.not(shared.list(['late']), late, 'and not held');
  t.equal(shared.list(['s7']), shared.list(['s7']), 'values held before the bound stay shared');
  for (let i = 0; i < MAX_SHARED; i++) shared.string(`x${i}`);
  t.equal(shared.string('y'), 'y');
});
