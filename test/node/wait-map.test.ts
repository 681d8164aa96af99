/**
 * A request that waits on the log past its deadline fails with TIMEOUT, in the words its kind
 * calls for: a proposal's outcome is unknown (it may still commit), a read changed nothing and
 * can be asked again (it said "outcome unknown" too; ops55).
 */
import t from 'tap';
import { HostError } from '../../src/api/consensus-port.js';
import { WaitMap } from '../../src/node/pending.js';
import { ManualScheduler } from '../autopilot/manual-scheduler.js';

void t.test('a waiter past its deadline is refused TIMEOUT with its kind words; one resolved in time is not', async (t) => {
  const scheduler = new ManualScheduler();
  const reads = new WaitMap<string, number>(scheduler, 'nothing was read or changed: ask again');
  const outcomes: string[] = [];
  const waiter = (name: string) => ({
    resolve: (v: number) => outcomes.push(`${name} ${v}`),
    reject: (err: Error) => outcomes.push(`${name} ${err instanceof HostError ? err.code : 'other'}: ${err.message}`),
  });
  reads.add('late', undefined, 100, 'linearizable read', waiter('late'));
  reads.add('prompt', undefined, 100, 'linearizable read', waiter('prompt'));
  scheduler.advance(50);
  t.ok(reads.resolve('prompt', 7), 'the prompt one is still waiting at 50 ms');
  scheduler.advance(60);
  t.same(outcomes, ['prompt 7', 'late TIMEOUT: linearizable read did not complete within 100ms; nothing was read or changed: ask again']);
  t.notOk(reads.resolve('late', 8), 'the timed-out one is no longer waiting');
});
