/**
 * Attack 28 F7 at the API: a Put whose (client id, seq) already carried a put of another key
 * is answered INVALID_ARGUMENT naming the clash, not with the first put's revision; the key is
 * not written. A retry of the first put is still answered with its revision.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { kvOps } from '../../src/api/kv-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { toServiceError } from '../../src/api/service-error.js';
import type { PutRequestMsg } from '../../src/api/wire-types.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

const soon = (): number => Date.now() + 2000;

function put(key: string, value: string): PutRequestMsg {
  return { key, value: Buffer.from(value), hasIfRevision: false, ifRevision: 0, client: { id: 'dupcli', seq: 1 }, forwarded: false };
}

void t.test('Put raw/B under the seq of a put of raw/A: INVALID_ARGUMENT, raw/B not written', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  // A cluster whose members all run this build is at 0.2 within seconds of its first leader.
  await port.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.3' }));
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: (id) => `${id}:1`, forwarder: { call: () => Promise.reject(new Error('not forwarded')) } });
  const kv = kvOps(port, port.sm, onLeader);

  const first = await kv.put(put('raw/A', 'a'), soon());
  const err = await kv.put(put('raw/B', 'b'), soon()).then(
    () => null,
    (e: unknown) => e,
  );
  t.match(err, { name: 'ServiceFailure', code: 'INVALID_ARGUMENT', message: /seq 1 of client "dupcli" was a put of "raw\/A", not a put of "raw\/B"/ });
  t.equal(toServiceError(err).code, grpc.status.INVALID_ARGUMENT, 'the gRPC status a client sees');
  await t.rejects(kv.get({ key: 'raw/B', serializable: false }, soon()), { code: 'NOT_FOUND' }, 'raw/B was never written');
  t.strictSame(await kv.put(put('raw/A', 'a'), soon()), first, 'a retry of the first put: its revision');
});
