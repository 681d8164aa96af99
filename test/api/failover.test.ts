/** The client's failover over endpoints (src/api/failover.ts), with made-up answers. */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { ApiError, ERROR_CODE_METADATA_KEY } from '../../src/api/errors.js';
import { Failover } from '../../src/api/failover.js';

function answer(code: grpc.status, details: string, apiCode?: string): Error {
  const metadata = new grpc.Metadata();
  if (apiCode !== undefined) metadata.set(ERROR_CODE_METADATA_KEY, apiCode);
  return Object.assign(new Error(details), { code, details, metadata });
}

void t.test('a node cut off from a quorum is not the whole story: the error names what the other endpoints did', async (t) => {
  const f = new Failover(['c1:1', 'c2:1']);
  const err = await f
    .run((endpoint) => Promise.reject(endpoint === 'c1:1' ? answer(grpc.status.UNAVAILABLE, 'c1 is cut off from a quorum: heard from 1 of 3', 'NO_QUORUM') : answer(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded')))
    .catch((e: unknown) => e);
  t.ok(err instanceof ApiError);
  t.equal((err as ApiError).code, 'NO_QUORUM', 'the answer that said most stands');
  t.match((err as ApiError).message, /^c1 is cut off from a quorum: heard from 1 of 3; tried c1:1 \(NO_QUORUM\), c2:1 \(DEADLINE_EXCEEDED: Deadline exceeded\)$/);
});

void t.test('one endpoint: its answer as it was', async (t) => {
  const f = new Failover(['c1:1']);
  const err = await f.run(() => Promise.reject(answer(grpc.status.UNAVAILABLE, 'no leader', 'NO_LEADER'))).catch((e: unknown) => e);
  t.match(err, { code: 'NO_LEADER', message: 'no leader' });
});

void t.test('the first final answer ends the run', async (t) => {
  const f = new Failover(['c1:1', 'c2:1', 'c3:1']);
  const seen: string[] = [];
  const err = await f
    .run((endpoint) => {
      seen.push(endpoint);
      return Promise.reject(endpoint === 'c1:1' ? answer(grpc.status.UNAVAILABLE, 'down') : answer(grpc.status.NOT_FOUND, 'no such key', 'NOT_FOUND'));
    })
    .catch((e: unknown) => e);
  t.same(seen, ['c1:1', 'c2:1']);
  t.match(err, { code: 'NOT_FOUND' });
});
