/** A word that starts with '-' and a digit is a value commander took for an option (src/cli/ctl/dash-value.ts). */
import t from 'tap';
import { dashValueHint } from '../../src/cli/ctl/dash-value.js';

void t.test('a negative value: the cause, and the same line with -- before it', async (t) => {
  t.equal(
    dashValueHint('-1s', ['config', 'set', 'services.vip_quarantine', '-1s']),
    "a value that starts with '-' is read as an option, and no duration or number ctl takes is negative; " +
      'to pass it as a value anyway, put -- before it: ctl config set services.vip_quarantine -- -1s',
  );
  t.match(dashValueHint('-.5m', ['kv', 'put', 'a b', '-.5m']), /put -- before it: ctl kv put 'a b' -- -\.5m$/, 'quoted so the line can be pasted');
});

void t.test('options after the value: -- would swallow them, so the rule without a line', async (t) => {
  t.match(dashValueHint('-1s', ['config', 'set', 'k', '-1s', '-o', 'json']), /put -- before it \(and every option before the --\)$/);
});

void t.test('a word that can be an option keeps commander\'s plain error', async (t) => {
  for (const flag of ['--bogus', '-x', '-', '-s1']) t.equal(dashValueHint(flag, ['kv', 'put', 'k', flag]), null, flag);
});
