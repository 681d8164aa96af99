/** Operator round 17: member ids that differ only in case (src/config/id-case.ts). */
import t from 'tap';
import { caseTwinHint, caseTwinOf } from '../../src/config/id-case.js';

void t.test('the member whose id differs only in case is found; the id itself and other ids are not', async (t) => {
  t.equal(caseTwinOf('C1', ['c1', 'c2']), 'c1');
  t.equal(caseTwinOf('c1', ['c1', 'c2']), null, 'the id itself');
  t.equal(caseTwinOf('c1', ['C1', 'c1']), 'C1', 'beside itself, a twin is still one');
  t.equal(caseTwinOf('c10', ['c1', 'C1']), null);
  t.equal(caseTwinHint('NODE-a', ['node-A']), ' (member node-A differs only in case: ids are case-sensitive)');
  t.equal(caseTwinHint('c9', ['c1']), '');
});
