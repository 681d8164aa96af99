/**
 * ClientLanes (src/api/client-lanes.ts): a write holds an id of its own until its outcome, so
 * no two writes of one id are in flight at once, and the ids are reused.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ClientLanes, WriteAttempts } from '../../src/api/client-lanes.js';
import { ApiError, exitCodeFor, serviceError } from '../../src/api/errors.js';
import { UnreachableError } from '../../src/api/failover.js';
import { KvSessionError } from '../../src/api/kv-session.js';
import { neverSent } from '../../src/api/never-sent.js';

void t.test('one writer at a time keeps one id, its seq rising', async (t) => {
  const lanes = new ClientLanes('c');
  const seen = [];
  for (let i = 0; i < 3; i++) {
    const tag = lanes.take();
    seen.push(tag.ref);
    tag.release();
  }
  t.same(seen, [{ id: 'c', seq: 1 }, { id: 'c', seq: 2 }, { id: 'c', seq: 3 }]);
  t.equal(lanes.count, 1);
});

void t.test('writes in flight together hold distinct ids; a freed id is taken again with its next seq', async (t) => {
  const lanes = new ClientLanes('c');
  const a = lanes.take();
  const b = lanes.take();
  const c = lanes.take();
  t.same([a.ref, b.ref, c.ref], [{ id: 'c', seq: 1 }, { id: 'c/1', seq: 1 }, { id: 'c/2', seq: 1 }], 'no id shared while in flight');
  b.release();
  b.release(); // a second release gives nothing back twice
  const d = lanes.take();
  t.same(d.ref, { id: 'c/1', seq: 2 }, "b's id, after its write");
  const e = lanes.take();
  t.same(e.ref, { id: 'c/3', seq: 1 }, 'a released tag was not put back twice');
  t.equal(lanes.count, 4, 'as many ids as writes were in flight at once');
});

void t.test("a write's first attempt goes out unmarked, every later one marked as a retry of the same ref", async (t) => {
  const attempts = new WriteAttempts({ id: 'c', seq: 3 });
  t.strictSame(attempts.next(), { id: 'c', seq: 3 });
  t.strictSame(attempts.next(), { id: 'c', seq: 3, retry: true });
  t.strictSame(attempts.next(), { id: 'c', seq: 3, retry: true });
});

void t.test('an attempt refused before anything was proposed does not make the next one a retry; one of unknown outcome does', async (t) => {
  const attempts = new WriteAttempts({ id: 'c', seq: 4 });
  t.strictSame(attempts.next(), { id: 'c', seq: 4 });
  attempts.refusedUnproposed(); // the leader's bound on bytes waiting to commit
  t.strictSame(attempts.next(), { id: 'c', seq: 4 }, 'still a first attempt');
  attempts.refusedUnproposed();
  t.strictSame(attempts.next(), { id: 'c', seq: 4 });
  // This one's answer never came (a failover):
  t.strictSame(attempts.next(), { id: 'c', seq: 4, retry: true }, 'after an attempt of unknown outcome, a retry');
  attempts.refusedUnproposed();
  t.strictSame(attempts.next(), { id: 'c', seq: 4, retry: true }, 'and stays one: an earlier attempt may have been applied');
});

/** A failed gRPC call as grpc-js rejects it. */
function callError(code: grpc.status, details: string, metadata?: grpc.Metadata): Error {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: metadata ?? new grpc.Metadata() });
}

const REFUSED = 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ';

void t.test('an attempt that never left the client does not make the next one a retry', async (t) => {
  const attempts = new WriteAttempts({ id: 'c', seq: 5 });
  const sent: unknown[] = [];
  const failWith = (err: unknown) => (ref: unknown) => {
    sent.push(ref);
    return Promise.reject(err);
  };
  await t.rejects(attempts.send(failWith(callError(grpc.status.UNAVAILABLE, REFUSED))));
  await t.rejects(attempts.send(failWith(new KvSessionError(grpc.status.UNAVAILABLE, `session with 127.0.0.1:1 broke: UNAVAILABLE: ${REFUSED}`, undefined))));
  await t.rejects(attempts.send(failWith(callError(grpc.status.UNAVAILABLE, 'Name resolution failed for target dns:nowhere.invalid:2379'))));
  t.strictSame(await attempts.send((ref) => Promise.resolve(ref)), { id: 'c', seq: 5 }, 'still a first attempt');
  t.strictSame(sent, [{ id: 'c', seq: 5 }, { id: 'c', seq: 5 }, { id: 'c', seq: 5 }]);
});

void t.test('an attempt that may have reached a controller makes the next one a retry', async (t) => {
  const shutting = new grpc.Metadata();
  for (const [key, value] of Object.entries(serviceError('SHUTTING_DOWN', REFUSED).metadata?.getMap() ?? {})) shutting.set(key, value);
  for (const err of [
    callError(grpc.status.UNAVAILABLE, 'Connection dropped'),
    callError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 2.001s'),
    new KvSessionError(grpc.status.UNAVAILABLE, '127.0.0.1:1 ended the session', undefined),
    callError(grpc.status.UNAVAILABLE, REFUSED, shutting), // a controller's answer, whatever its words
    new Error(REFUSED),
  ]) {
    const attempts = new WriteAttempts({ id: 'c', seq: 6 });
    await t.rejects(attempts.send(() => Promise.reject(err)));
    t.notOk(neverSent(err), err.message);
    t.strictSame(await attempts.send((ref) => Promise.resolve(ref)), { id: 'c', seq: 6, retry: true }, err.message);
  }
});

void t.test('every endpoint failed: "no endpoint answered" only when no attempt can have been applied, else the outcome is unknown (exit 1)', async (t) => {
  const unreachable = new UnreachableError('no endpoint answered; tried 127.0.0.1:1 (UNAVAILABLE: session with 127.0.0.1:1 broke: UNAVAILABLE: Connection dropped)', []);
  const refusedOnly = new WriteAttempts({ id: 'c', seq: 7 });
  const run = (attempts: WriteAttempts, err: unknown) => attempts.settle(() => attempts.send(() => Promise.reject(err)).catch(() => Promise.reject(unreachable)));
  const never = await run(refusedOnly, callError(grpc.status.UNAVAILABLE, REFUSED)).catch((e: unknown) => e);
  t.equal(never, unreachable, 'the connection was refused: nothing went out, UNREACHABLE (exit 3)');
  t.equal(exitCodeFor(never), 3);
  const dropped = await run(new WriteAttempts({ id: 'c', seq: 8 }), callError(grpc.status.UNAVAILABLE, 'Connection dropped')).catch((e: unknown) => e);
  t.ok(dropped instanceof ApiError && dropped.code === 'TIMEOUT', 'it went out and its connection broke (a kill -9 mid-forward): TIMEOUT');
  t.match((dropped as Error).message, /^the write went out and its connection broke before an answer came, so its outcome is unknown: it may have been applied .*; no endpoint answered; tried /);
  t.equal(exitCodeFor(dropped), 1, 'exit 1, as for a write whose deadline passed, not 3');
  const late = await run(new WriteAttempts({ id: 'c', seq: 10 }), callError(grpc.status.DEADLINE_EXCEEDED, 'no answer from 127.0.0.1:1 within 5ms')).catch((e: unknown) => e);
  t.ok(late instanceof ApiError && late.code === 'TIMEOUT', 'no answer by its deadline: TIMEOUT too');
  t.match((late as Error).message, /^the write went out and no answer came before its deadline \(--timeout\), so its outcome is unknown: /, 'ops55: said as a deadline, not as a broken connection');
  const answered = new ApiError('NO_QUORUM', 'c1 is cut off from a quorum');
  t.equal(await new WriteAttempts({ id: 'c', seq: 9 }).settle(() => Promise.reject(answered)).catch((e: unknown) => e), answered, "a controller's answer is reported as it is");
});
