/** The client's failover over endpoints (src/api/failover.ts), with made-up answers. */
import { mock } from 'node:test';
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { ApiError, ERROR_CODE_METADATA_KEY } from '../../src/api/errors.js';
import { Failover, HEAD_START_SHARE } from '../../src/api/failover.js';

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

/**
 * Made-up connections: each endpoint connects after `connectsAfterMs` from when it was first
 * warmed (never when absent), and records when it was warmed and the deadlines it was given.
 */
function connections(connectTimeoutMs: number, connectsAfterMs: Readonly<Record<string, number>>) {
  const warmedAt = new Map<string, number>();
  const deadlines: { endpoint: string; deadline: number; askedAt: number }[] = [];
  const conns = {
    connectTimeoutMs,
    warm(endpoint: string): void {
      if (!warmedAt.has(endpoint)) warmedAt.set(endpoint, Date.now());
    },
    async settled(endpoint: string, deadline: number): Promise<void> {
      deadlines.push({ endpoint, deadline, askedAt: Date.now() });
      const after = connectsAfterMs[endpoint];
      const upAt = after === undefined ? Infinity : (warmedAt.get(endpoint) ?? Infinity) + after;
      // A timer may fire a millisecond before Date.now() reaches its time: wait until it has.
      const until = Math.min(upAt, deadline);
      while (Date.now() < until) await new Promise((r) => setTimeout(r, until - Date.now()));
      if (Date.now() < upAt) throw new Error(`${endpoint} still connecting`);
    },
  };
  return { conns, warmedAt, deadlines };
}

void t.test('a call whose endpoint connects opens no connection to the others', async (t) => {
  // The head start's timer on a mocked clock: moved past it at once, no wall-clock wait.
  mock.timers.enable({ apis: ['setTimeout'] });
  t.teardown(() => mock.timers.reset());
  const { conns, warmedAt } = connections(400, { 'c1:1': 0, 'c2:1': 0, 'c3:1': 0 });
  const f = new Failover(['c1:1', 'c2:1', 'c3:1'], conns);
  t.equal(await f.run(async (endpoint) => endpoint), 'c1:1');
  t.equal(await f.run(async (endpoint) => endpoint), 'c1:1');
  // Past the head start: a call that was answered must not open the others later either.
  mock.timers.tick(400 * HEAD_START_SHARE + 1);
  t.same([...warmedAt.keys()], ['c1:1'], 'one connection, not one per member');
});

void t.test('an endpoint that refuses opens the others, each with its own connect timeout', async (t) => {
  const { conns, warmedAt, deadlines } = connections(400, { 'c1:1': 0, 'c2:1': 5, 'c3:1': 5 });
  const f = new Failover(['c1:1', 'c2:1', 'c3:1'], conns);
  const answered = await f.run(async (endpoint) => {
    if (endpoint === 'c1:1') throw answer(grpc.status.UNAVAILABLE, 'no leader', 'NO_LEADER');
    return endpoint;
  });
  t.equal(answered, 'c2:1');
  t.same([...warmedAt.keys()].sort(), ['c1:1', 'c2:1', 'c3:1'], 'the others are opened once the first fails');
  const c2 = deadlines.find((d) => d.endpoint === 'c2:1');
  t.ok(c2 !== undefined && c2.deadline >= warmedAt.get('c2:1')! + 400, 'c2 has the whole connect timeout from when it was opened');
});

void t.test('an endpoint slow to connect: the others are opened after the head start, and a dead one costs one connect timeout', async (t) => {
  const timeoutMs = 400;
  const { conns, warmedAt, deadlines } = connections(timeoutMs, { 'c2:1': 5, 'c3:1': 5 });
  const f = new Failover(['c1:1', 'c2:1', 'c3:1'], conns);
  const started = Date.now();
  t.equal(await f.run(async (endpoint) => endpoint), 'c2:1');
  const tookMs = Date.now() - started;
  // Measured from when c1 was asked to connect, not from `started`: a loaded host may run the
  // test's next line tens of milliseconds late (433 ms read against 405).
  const c1 = deadlines.filter((d) => d.endpoint === 'c1:1');
  t.ok(c1.length > 0 && c1.every((d) => d.deadline - d.askedAt <= timeoutMs), `c1 is given no more than its connect timeout (${c1.map((d) => d.deadline - d.askedAt).join(', ')}ms)`);
  const connectBy = Math.min(...c1.map((d) => d.deadline));
  const c2At = warmedAt.get('c2:1')!;
  // A timer may fire a millisecond before Date.now() says its time has come.
  t.ok(c2At >= started + timeoutMs * HEAD_START_SHARE - 5 && c2At < connectBy, `c2 is opened once the head start has passed, while c1 has the rest of its connect timeout (${c2At - started}ms in)`);
  t.ok(tookMs < 2 * timeoutMs, `c2 connected while c1 had the rest of its timeout: ${tookMs}ms, not one connect timeout per endpoint`);
});

void t.test('an endpoint that connects and does not answer: the others are opened after the head start, so a hung one behind it costs no connect timeout more', async (t) => {
  const timeoutMs = 400;
  const silentForMs = 2 * timeoutMs; // a request timeout: a client's is at least twice its connect timeout
  // c1 connects and then never answers; c2 accepts TCP and never connects (hung); c3 is up.
  const { conns, warmedAt } = connections(timeoutMs, { 'c1:1': 5, 'c3:1': 5 });
  const f = new Failover(['c1:1', 'c2:1', 'c3:1'], conns);
  const started = Date.now();
  const answered = await f.run(async (endpoint) => {
    if (endpoint !== 'c1:1') return endpoint;
    await new Promise((r) => setTimeout(r, silentForMs));
    throw answer(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded');
  });
  const tookMs = Date.now() - started;
  t.equal(answered, 'c3:1');
  t.ok(warmedAt.get('c2:1')! - started < silentForMs, 'the others were opened while c1 was silent');
  // Opened only once c1 timed out, c2 would have had its whole connect timeout from then.
  t.ok(tookMs < silentForMs + timeoutMs * HEAD_START_SHARE, `c1's request timeout and next to nothing more: ${tookMs}ms`);
});
