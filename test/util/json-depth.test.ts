/** The nesting of a JSON text, found without parsing it (src/util/json-depth.ts). */
import t from 'tap';
import { jsonDepthPast } from '../../src/util/json-depth.js';

void t.test('depth counts arrays and objects, not brackets inside strings', async (t) => {
  t.equal(jsonDepthPast('{"a":[1,{"b":[]}]}', 4), null, 'four levels within a limit of 4');
  t.equal(jsonDepthPast('{"a":[1,{"b":[]}]}', 3), 4, 'past a limit of 3 at 4');
  t.equal(jsonDepthPast('["[[[[[[", "{{{{{"]', 1), null, 'brackets in strings do not count');
  t.equal(jsonDepthPast('["\\\\", [["x"]]]', 2), 3, 'an escaped backslash ends before the quote');
  t.equal(jsonDepthPast('["\\"[[[", []]', 2), null, 'an escaped quote does not end the string');
  t.equal(jsonDepthPast('[]'.repeat(10_000), 1), null, 'siblings are not depth');
  t.equal(jsonDepthPast('['.repeat(2_000_000)), 65, 'the default limit is 64');
});
