/** The operator's node options (src/cli/node-options.ts): the command line's, then NODE_OPTIONS' tokens. */
import t from 'tap';
import { operatorNodeOptions } from '../../src/cli/node-options.js';

void t.test('the command line and NODE_OPTIONS, in that order, split on any whitespace', async (t) => {
  t.same(operatorNodeOptions(['--max-old-space-size=512'], { NODE_OPTIONS: ' --max-semi-space-size=8 \t --no-memory-reducer ' }), ['--max-old-space-size=512', '--max-semi-space-size=8', '--no-memory-reducer']);
  t.same(operatorNodeOptions(['--a'], {}), ['--a'], 'no NODE_OPTIONS');
  t.same(operatorNodeOptions([], { NODE_OPTIONS: '' }), [], 'an empty one');
});
