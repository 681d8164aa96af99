/** The client's retry of writes the leader refused for its bound of uncommitted bytes. */
import t from 'tap';
import { ApiError } from '../../src/api/errors.js';
import { retryWhileLeaderFull } from '../../src/api/write-backoff.js';

const full = (): ApiError => new ApiError('RESOURCE_EXHAUSTED', 'too many bytes of writes waiting to commit on the leader (33554432 of 33554432, this write 1000000); retry');

function fakeTime() {
  let clock = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => clock,
    sleep: (ms: number) => {
      waits.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  };
}

void t.test('refused while the leader is full, then admitted: the write succeeds', async (t) => {
  const time = fakeTime();
  let calls = 0;
  const result = await retryWhileLeaderFull(5000, () => (++calls < 4 ? Promise.reject(full()) : Promise.resolve('ok')), time.sleep, time.now);
  t.equal(result, 'ok');
  t.equal(calls, 4);
  t.strictSame(time.waits, [25, 50, 100], 'backing off');
});

void t.test('still full at the timeout: the refusal is the answer', async (t) => {
  const time = fakeTime();
  const err = await retryWhileLeaderFull(1000, () => Promise.reject(full()), time.sleep, time.now).catch((e: unknown) => e);
  t.match(err, { code: 'RESOURCE_EXHAUSTED', message: /waiting to commit on the leader/ });
  t.ok(time.now() < 1000, 'no wait past the timeout');
});

void t.test('other failures are not retried', async (t) => {
  const time = fakeTime();
  let calls = 0;
  const err = await retryWhileLeaderFull(5000, () => {
    calls++;
    return Promise.reject(new ApiError('NO_SPACE', 'quota'));
  }, time.sleep, time.now).catch((e: unknown) => e);
  t.match(err, { code: 'NO_SPACE' });
  t.equal(calls, 1);
});
