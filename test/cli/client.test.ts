import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ApiError, tidyDetails } from '../../src/api/errors.js';
import type { AuditEventJson } from '../../src/api/answers.js';
import { ControllerClient } from '../../src/api/client.js';
import {
  apiFailure,
  bareFailure,
  deadAddress,
  startFake,
  threeControllers,
  type Fake,
  type Request,
} from './fake-controller.js';

function listAnswer(answeredBy: string): Request {
  return { controllers: threeControllers(), stale: false, answeredBy, staleReason: '' };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** Anything tap can register teardowns on. */
interface Teardown {
  teardown(fn: () => Promise<void>): void;
}

function stopAll(t: Teardown, ...items: (Fake | ControllerClient)[]): void {
  t.teardown(async () => {
    for (const item of items) {
      if (item instanceof ControllerClient) item.close();
      else await item.stop();
    }
  });
}

void t.test('a dead first endpoint fails over to the next', async (t) => {
  const dead = await deadAddress();
  const live = await startFake({ unary: { ListControllers: () => listAnswer('c2') } });
  const client = new ControllerClient({ endpoints: [dead, live.address], timeoutMs: 2000 });
  stopAll(t, live, client);
  const view = await client.listControllers();
  t.equal(view.answeredBy, 'c2');
  t.equal(view.controllers.length, 3);
  t.equal(view.controllers[0]?.id, 'c1');
  t.equal(view.stale, false);
  t.equal(live.calls.length, 1);
});

void t.test('the endpoint that answered last is tried first on the next call', async (t) => {
  const a = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('a'), revision: 1 }) } });
  const b = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('b'), revision: 1 }) } });
  const dead = await deadAddress();
  // Order: dead, b, a. The first call lands on b; a must never be asked.
  const client = new ControllerClient({ endpoints: [dead, b.address, a.address], timeoutMs: 2000 });
  stopAll(t, a, b, client);
  for (let i = 0; i < 3; i++) t.equal(Buffer.from((await client.get('k')).value).toString(), 'b');
  t.equal(a.calls.length, 0);
  t.equal(b.calls.length, 3);
});

void t.test('when no endpoint answers the error is UNREACHABLE and names every endpoint tried', async (t) => {
  const endpoints = [await deadAddress(), await deadAddress()];
  const client = new ControllerClient({ endpoints, timeoutMs: 1000 });
  stopAll(t, client);
  const err = await rejection(client.status());
  t.equal(err.code, 'UNREACHABLE');
  for (const e of endpoints) t.match(err.message, e);
  t.notMatch(err.message, /Resolution note/, "grpc-js's empty resolution note is not passed on");
  const write = await rejection(client.put('k', 'v'));
  t.equal(write.code, 'UNREACHABLE', 'a put on a session fails the same way');
  t.notMatch(write.message, /Resolution note/);
});

void t.test("a controller that takes the call and never answers: the deadline in words, naming it, not grpc-js's timings (ops55)", async (t) => {
  const hung = await startFake({ unary: { Status: () => new Promise(() => undefined) } });
  const client = new ControllerClient({ endpoints: [hung.address], timeoutMs: 300 });
  stopAll(t, hung, client);
  const err = await rejection(client.status());
  t.match(err.message, `no answer within`);
  t.match(err.message, `from ${hung.address}: connected, but it did not answer`);
  t.notMatch(err.message, /name resolution|LB pick|remote_addr|Deadline exceeded after/);
  t.equal(tidyDetails('Deadline exceeded after 5.001s,name resolution: 0.001s,Waiting for LB pick'), 'no connection came up within 5.001s');
  t.equal(tidyDetails('Deadline exceeded after 1.2s,name resolution: 0.001s'), 'deadline exceeded after 1.2s');
  t.equal(tidyDetails('connection refused. Resolution note: '), 'connection refused.');
});

void t.test('a retried write re-sends the same client id and seq; the next write uses the next seq', async (t) => {
  const flaky = await startFake({
    unary: {
      Put: () => {
        throw bareFailure(grpc.status.UNAVAILABLE, 'connection reset');
      },
    },
  });
  const good = await startFake({ unary: { Put: () => ({ revision: 7 }) } });
  const client = new ControllerClient({ endpoints: [flaky.address, good.address], timeoutMs: 2000 });
  stopAll(t, flaky, good, client);
  t.strictSame(await client.put('k', 'v', { ifRevision: 3 }), { revision: 7 });
  const first = flaky.calls[0]?.request;
  const retry = good.calls[0]?.request;
  t.strictSame(first?.['client'], { id: client.id, seq: 1, retry: false, owner: '' }, 'the first attempt is not marked');
  t.strictSame(retry?.['client'], { id: client.id, seq: 1, retry: true, owner: '' }, 'same ref on the retry, marked as one');
  t.equal(retry?.['hasIfRevision'], true);
  t.equal(retry?.['ifRevision'], 3);
  t.equal(Buffer.from(retry?.['value'] as Uint8Array).toString(), 'v');
  await client.put('k', 'w');
  t.strictSame(good.calls[1]?.request['client'], { id: client.id, seq: 2, retry: false, owner: '' });
  t.equal(good.calls[1]?.request['hasIfRevision'], false);
});

void t.test('a write whose first endpoint has no connection is not marked a retry on the next: nothing was sent', async (t) => {
  // Marked, it was refused SESSION_EXPIRED by any cluster whose exactly-once table had filled:
  // every new ctl's write failed while the first endpoint listed was down.
  for (const session of [true, false]) {
    const good = await startFake({ unary: { Put: () => ({ revision: 5 }), Delete: () => ({ revision: 6 }) }, session });
    const put = new ControllerClient({ endpoints: [await deadAddress(), good.address], timeoutMs: 2000 });
    const del = new ControllerClient({ endpoints: [await deadAddress(), good.address], timeoutMs: 2000 });
    stopAll(t, good, put, del);
    t.strictSame(await put.put('k', 'v'), { revision: 5 });
    t.strictSame(await del.delete('k'), { revision: 6 });
    const via = session ? 'session' : 'unary';
    t.strictSame(good.calls.map((c) => [c.method, c.via]), [['Put', via], ['Delete', via]]);
    t.strictSame(good.calls[0]?.request['client'], { id: put.id, seq: 1, retry: false, owner: '' }, `a put (${via}) goes out as a first attempt`);
    t.strictSame(good.calls[1]?.request['client'], { id: del.id, seq: 1, retry: false, owner: '' }, `a delete (${via}) goes out as a first attempt`);
  }
});

void t.test('a write a controller refused before proposing anything is not marked a retry on the next endpoint', async (t) => {
  // A cut-off node answers NO_QUORUM at once, saying nothing was proposed (not-proposed); marked,
  // the next attempt was refused SESSION_EXPIRED by a full exactly-once table.
  for (const session of [true, false]) {
    const cutOff = apiFailure('NO_QUORUM', 'c1 is cut off from a quorum', true);
    const minority = await startFake({ unary: { Put: () => { throw cutOff; }, Delete: () => { throw cutOff; } }, session });
    const majority = await startFake({ unary: { Put: () => ({ revision: 5 }), Delete: () => ({ revision: 6 }) }, session });
    const client = new ControllerClient({ endpoints: [minority.address, majority.address], timeoutMs: 2000 });
    stopAll(t, minority, majority, client);
    t.strictSame(await client.put('k', 'v'), { revision: 5 });
    t.strictSame(majority.calls[0]?.request['client'], { id: client.id, seq: 1, retry: false, owner: '' }, `a put (session ${session}): a first attempt`);
    // Without the controller's word (an older one), the next attempt stays a retry.
    const older = await startFake({ unary: { Delete: () => { throw apiFailure('NO_QUORUM', 'cut off'); } }, session });
    const other = new ControllerClient({ endpoints: [older.address, majority.address], timeoutMs: 2000 });
    stopAll(t, older, other);
    t.strictSame(await other.delete('k'), { revision: 6 });
    t.strictSame(majority.calls[1]?.request['client'], { id: other.id, seq: 1, retry: true, owner: '' }, `a delete (session ${session}): a retry`);
  }
});

void t.test("a write the leader refused for its bound on uncommitted bytes is retried marked unless it said not-proposed", async (t) => {
  // The leader flags its refusal unless an earlier attempt (a forward lost mid-call) may have
  // been applied; unflagged, the client used to take RESOURCE_EXHAUSTED alone as proof.
  for (const notProposed of [true, false]) {
    let calls = 0;
    const full = apiFailure('RESOURCE_EXHAUSTED', 'too many bytes of writes waiting to commit on the leader', notProposed);
    const leader = await startFake({ unary: { Put: () => (++calls === 1 ? Promise.reject(full) : { revision: 8 }) } });
    const client = new ControllerClient({ endpoints: [leader.address], timeoutMs: 2000 });
    stopAll(t, leader, client);
    t.strictSame(await client.put('k', 'v'), { revision: 8 });
    t.strictSame(leader.calls.map((c) => (c.request['client'] as { retry: boolean }).retry), [false, !notProposed], `not-proposed ${notProposed}`);
  }
});

void t.test('a silent endpoint is given up after the timeout and the write retried elsewhere with its seq', async (t) => {
  const silent = await startFake({ unary: { Delete: () => new Promise(() => undefined) } });
  const good = await startFake({ unary: { Delete: () => ({ revision: 9 }) } });
  const client = new ControllerClient({ endpoints: [silent.address, good.address], timeoutMs: 300 });
  stopAll(t, silent, good, client);
  t.strictSame(await client.delete('k'), { revision: 9 });
  t.strictSame(good.calls[0]?.request['client'], { ...(silent.calls[0]?.request['client'] as object), retry: true });
});

void t.test('a retry refused SESSION_EXPIRED is final: reported with its reason, never re-sent', async (t) => {
  const flaky = await startFake({
    unary: {
      Delete: () => {
        throw bareFailure(grpc.status.UNAVAILABLE, 'connection reset');
      },
    },
  });
  const reason = 'the outcome of this write is unknown: its exactly-once record was dropped, or it was never applied (...)';
  const expired = await startFake({
    unary: {
      Delete: () => {
        throw apiFailure('SESSION_EXPIRED', reason);
      },
    },
  });
  const third = await startFake({ unary: { Delete: () => ({ revision: 4 }) } });
  const client = new ControllerClient({ endpoints: [flaky.address, expired.address, third.address], timeoutMs: 2000 });
  stopAll(t, flaky, expired, third, client);
  const err = await rejection(client.delete('k'));
  t.equal(err.code, 'SESSION_EXPIRED');
  t.equal(err.grpcCode, grpc.status.ABORTED);
  t.equal(err.message, reason);
  t.equal(third.calls.length, 0, 'not re-sent to another endpoint');
  t.equal(expired.calls[0]?.request['client'] !== undefined && (expired.calls[0].request['client'] as { retry: boolean }).retry, true);
});

void t.test('an answer with an error-code is final: no failover, and the code is kept', async (t) => {
  const a = await startFake({
    unary: {
      Get: () => {
        throw apiFailure('NOT_FOUND', 'key "k" does not exist');
      },
      Put: () => {
        throw apiFailure('CAS_FAILED', 'expected revision 2, found 3');
      },
    },
  });
  const b = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('x'), revision: 1 }) } });
  const client = new ControllerClient({ endpoints: [a.address, b.address], timeoutMs: 2000 });
  stopAll(t, a, b, client);
  const missing = await rejection(client.get('k'));
  t.equal(missing.code, 'NOT_FOUND');
  t.equal(missing.grpcCode, grpc.status.NOT_FOUND);
  t.equal(missing.message, 'key "k" does not exist');
  const cas = await rejection(client.put('k', 'v', { ifRevision: 2 }));
  t.equal(cas.code, 'CAS_FAILED');
  t.equal(b.calls.length, 0);
});

void t.test('NO_LEADER from a cut-off node moves on to a node that can serve', async (t) => {
  const minority = await startFake({
    unary: {
      Put: () => {
        throw apiFailure('NO_LEADER', 'no leader known');
      },
    },
  });
  const majority = await startFake({ unary: { Put: () => ({ revision: 4 }) } });
  const client = new ControllerClient({ endpoints: [minority.address, majority.address], timeoutMs: 2000 });
  stopAll(t, minority, majority, client);
  t.strictSame(await client.put('k', 'v'), { revision: 4 });
  t.strictSame(majority.calls[0]?.request['client'], { ...(minority.calls[0]?.request['client'] as object), retry: true }, 'the same ref, marked as a retry');
});

void t.test('when every node answers NO_LEADER the error is NO_LEADER, not UNREACHABLE', async (t) => {
  const noLeader = (): never => {
    throw apiFailure('NO_LEADER', 'no leader known');
  };
  const a = await startFake({ unary: { Put: noLeader } });
  const client = new ControllerClient({ endpoints: [a.address, await deadAddress()], timeoutMs: 1000 });
  stopAll(t, a, client);
  t.equal((await rejection(client.put('k', 'v'))).code, 'NO_LEADER');
});

void t.test('listControllersOn asks only the given endpoint', async (t) => {
  const live = await startFake({ unary: { ListControllers: () => ({ ...listAnswer('c1'), stale: true, staleReason: 'cut off' }) } });
  const dead = await deadAddress();
  const client = new ControllerClient({ endpoints: [live.address], timeoutMs: 1000 });
  stopAll(t, live, client);
  const view = await client.listControllersOn(live.address);
  t.equal(view.stale, true);
  t.equal(view.staleReason, 'cut off');
  const err = await rejection(client.listControllersOn(dead));
  t.equal(err.code, 'UNREACHABLE');
  t.match(err.message, dead);
  t.equal(live.calls.length, 1);
});

void t.test('an answer that breaks the message shape is an INTERNAL error that says what was found', async (t) => {
  const odd = await startFake({
    unary: { ListControllers: () => ({ controllers: [{ id: 'c1', localState: 'sleepy' }], stale: false }) },
  });
  const client = new ControllerClient({ endpoints: [odd.address], timeoutMs: 1000 });
  stopAll(t, odd, client);
  const err = await rejection(client.listControllers());
  t.equal(err.code, 'INTERNAL');
  t.match(err.message, /ControllerStatus: field "localState" must be one of online\|offline\|unknown, found "sleepy"/);
});

void t.test('member, leader and status calls send the documented requests', async (t) => {
  const fake = await startFake({
    unary: {
      MemberAdd: () => ({ voters: ['c1'], learners: ['c4'] }),
      MemberPromote: () => ({ voters: ['c1', 'c4'], learners: [] }),
      MemberRemove: () => ({ voters: ['c1'], learners: [], unchanged: true, detail: 'c4 was already removed; nothing changed' }),
      LeaderTransfer: (r) => ({ leader: r['target'] === '' ? 'c2' : r['target'] }),
      Status: () => ({ id: 'c1', term: 5, leader: 'c1', role: 'leader', commitIndex: 9, appliedIndex: 9, voters: ['c1'] }),
    },
  });
  const client = new ControllerClient({ endpoints: [fake.address], timeoutMs: 1000 });
  stopAll(t, fake, client);
  // A server from before `unchanged` and `detail`: the change was made, nothing more to say.
  t.strictSame(await client.memberAdd('c4', '127.0.0.1:7104', true), { voters: ['c1'], learners: ['c4'], unchanged: false, detail: '' });
  t.match(fake.calls[0]?.request, { id: 'c4', address: '127.0.0.1:7104', learner: true, forwarded: false });
  t.strictSame(await client.memberPromote('c4'), { voters: ['c1', 'c4'], learners: [], unchanged: false, detail: '' });
  t.strictSame(await client.memberRemove('c4'), { voters: ['c1'], learners: [], unchanged: true, detail: 'c4 was already removed; nothing changed' });
  t.strictSame(await client.leaderTransfer(), { leader: 'c2', unchanged: false });
  t.strictSame(await client.leaderTransfer('c3'), { leader: 'c3', unchanged: false });
  const status = await client.status();
  t.equal(status.term, 5);
  t.equal(status.role, 'leader');
  t.strictSame(status.learners, []);
});

const EVENT = {
  time: '2026-11-23T10:00:00.000Z',
  node: 'c1',
  type: 'member.status',
  subject: 'c3',
  from: 'online',
  to: 'offline',
  reason: 'heartbeat timeout 2230ms',
};

void t.test('audit delivers the retained events and resolves at the end of the stream', async (t) => {
  const fake = await startFake({
    audit: (_req, call) => {
      call.write(EVENT);
      call.write({ ...EVENT, subject: 'c2' });
      call.end();
    },
  });
  const client = new ControllerClient({ endpoints: [await deadAddress(), fake.address], timeoutMs: 1000 });
  stopAll(t, fake, client);
  const seen: AuditEventJson[] = [];
  await client.audit({ sinceMs: 1234, follow: false }, (e) => seen.push(e));
  t.strictSame(seen, [EVENT, { ...EVENT, subject: 'c2' }]);
  t.match(fake.calls[0]?.request, { sinceMs: 1234, follow: false });
});

void t.test('a followed audit stream runs until the signal aborts it', async (t) => {
  const fake = await startFake({ audit: (_req, call) => void call.write(EVENT) });
  const client = new ControllerClient({ endpoints: [fake.address], timeoutMs: 200 });
  stopAll(t, fake, client);
  const abort = new AbortController();
  const seen: AuditEventJson[] = [];
  // The stream outlives the 200ms timeout: followed streams have no deadline.
  const done = client.audit({ sinceMs: 0, follow: true, signal: abort.signal }, (e) => {
    seen.push(e);
    setTimeout(() => abort.abort(), 400);
  });
  await done;
  t.equal(seen.length, 1);
  t.equal(abort.signal.aborted, true);
});

void t.test('a listing longer than the timeout goes on while events arrive; one that stalls fails, naming how long', async (t) => {
  // An event every 100ms for 3 s against a 1.5 s timeout: a whole-stream deadline would cut it.
  let stall = false;
  const fake = await startFake({
    audit: (_req, call) => {
      let n = 0;
      const tick = setInterval(() => {
        if (stall && n === 3) return; // the stalled endpoint: three events, then nothing
        call.write({ ...EVENT, subject: `c${n}` });
        if (++n === 30) {
          clearInterval(tick);
          call.end();
        }
      }, 100);
      call.on('cancelled', () => clearInterval(tick));
    },
  });
  const client = new ControllerClient({ endpoints: [fake.address], timeoutMs: 1500 });
  stopAll(t, fake, client);
  const seen: AuditEventJson[] = [];
  await client.audit({ sinceMs: 0, follow: false }, (e) => seen.push(e));
  t.equal(seen.length, 30, 'all of it, in 3 s');

  stall = true;
  const stalled: AuditEventJson[] = [];
  await t.rejects(client.audit({ sinceMs: 0, follow: false }, (e) => stalled.push(e)), {
    code: 'UNREACHABLE',
    message: /lost the audit stream from .* \(DEADLINE_EXCEEDED: nothing arrived for 1500ms after 3 events \(--timeout sets how long to wait\)\)/,
  });
  t.equal(stalled.length, 3);
});

void t.test('a client with no endpoints or no timeout is refused', async (t) => {
  t.throws(() => new ControllerClient({ endpoints: [], timeoutMs: 1000 }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => new ControllerClient({ endpoints: ['127.0.0.1:1'], timeoutMs: 0 }), { code: 'INVALID_ARGUMENT' });
});
