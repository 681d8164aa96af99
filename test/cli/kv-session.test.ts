/**
 * ControllerClient's Put, Get and Delete ride one KvSession stream per endpoint. These check
 * what the session must keep from the unary calls: answers matched to their requests,
 * failover with the same client ref, and unary calls where a session cannot serve.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { ControllerClient } from '../../src/api/client.js';
import { MAX_SESSION_VALUE_BYTES } from '../../src/api/kv-session.js';
import { ApiError } from '../../src/api/errors.js';
import { apiFailure, bareFailure, startFake, type Fake, type Request } from './fake-controller.js';

function stopAll(t: { teardown(fn: () => Promise<void>): void }, ...items: (Fake | ControllerClient)[]): void {
  t.teardown(async () => {
    for (const item of items) {
      if (item instanceof ControllerClient) item.close();
      else await item.stop();
    }
  });
}

function seqOf(request: Request | undefined): unknown {
  const client = request?.['client'];
  return typeof client === 'object' && client !== null ? (client as Record<string, unknown>)['seq'] : undefined;
}

void t.test('concurrent requests share the session and each gets its own answer, whatever the order', async (t) => {
  const n = 20;
  // The earliest request is answered last: answers arrive in reverse order.
  const fake = await startFake({
    unary: {
      Put: (req) => {
        // k0 .. k19: writes in flight together each hold an exactly-once id of their own (client-lanes.ts).
        const i = Number(String(req?.['key']).slice(1));
        return new Promise((resolve) => setTimeout(() => resolve({ revision: 101 + i }), (n - i) * 5));
      },
    },
  });
  const client = new ControllerClient({ endpoints: [fake.address], timeoutMs: 5000 });
  stopAll(t, fake, client);
  const results = await Promise.all(Array.from({ length: n }, (_, i) => client.put(`k${i}`, 'v')));
  t.strictSame(
    results.map((r) => r.revision),
    Array.from({ length: n }, (_, i) => 101 + i),
    'each put resolved with the answer to its own request',
  );
  t.equal(fake.calls.length, n);
  t.ok(fake.calls.every((c) => c.via === 'session'), 'every request came on the session');
});

void t.test('a refusal on the session keeps its code and is final', async (t) => {
  const a = await startFake({
    unary: {
      Get: () => {
        throw apiFailure('NOT_FOUND', 'key "k" not found');
      },
      Delete: () => {
        throw apiFailure('CAS_FAILED', 'expected revision 2, found 3');
      },
    },
  });
  const b = await startFake({ unary: { Get: () => ({ key: 'k', value: Buffer.from('x'), revision: 1 }) } });
  const client = new ControllerClient({ endpoints: [a.address, b.address], timeoutMs: 2000 });
  stopAll(t, a, b, client);
  await t.rejects(client.get('k'), { code: 'NOT_FOUND', grpcCode: grpc.status.NOT_FOUND, message: 'key "k" not found' });
  await t.rejects(client.delete('k', { ifRevision: 2 }), { code: 'CAS_FAILED' });
  t.equal(b.calls.length, 0, 'a final answer is not retried elsewhere');
});

void t.test('a broken session fails every request on it over to the next endpoint, once each, with its ref', async (t) => {
  const broken = await startFake({
    unary: {
      Put: () => {
        throw bareFailure(grpc.status.UNAVAILABLE, 'connection reset');
      },
    },
  });
  const good = await startFake({ unary: { Put: (req) => ({ revision: Number(String(req?.['key']).slice(1)) }) } });
  const client = new ControllerClient({ endpoints: [broken.address, good.address], timeoutMs: 2000 });
  stopAll(t, broken, good, client);
  const results = await Promise.all([1, 2, 3, 4].map((i) => client.put(`k${i}`, 'v')));
  t.strictSame(results.map((r) => r.revision).sort(), [1, 2, 3, 4]);
  const refOf = (request: Request | undefined): string => {
    const ref = request?.['client'] as Record<string, unknown> | undefined;
    return `${String(ref?.['id'])}#${String(ref?.['seq'])}`;
  };
  const retried = good.calls.map((c) => refOf(c.request));
  t.equal(new Set(retried).size, 4, 'each write reached the good endpoint exactly once, under its own exactly-once tag');
  t.equal(retried.length, 4);
  for (const c of good.calls) t.match(String((c.request['client'] as Record<string, unknown>)['id']), new RegExp(`^${client.id}(/\\d+)?$`), "each tag is one of the client's ids");
  // The client now prefers the good endpoint, and its session there serves the next write.
  await client.put('k5', 'v');
  t.equal(good.calls.at(-1)?.via, 'session');
  t.equal(seqOf(good.calls.at(-1)?.request), 2, 'on an id already used once, its next seq');
});

void t.test('an unanswered request times out and is retried elsewhere with the same ref', async (t) => {
  const silent = await startFake({ unary: { Put: () => new Promise(() => undefined) } });
  const good = await startFake({ unary: { Put: () => ({ revision: 3 }) } });
  const client = new ControllerClient({ endpoints: [silent.address, good.address], timeoutMs: 300 });
  stopAll(t, silent, good, client);
  t.strictSame(await client.put('k', 'v'), { revision: 3 });
  t.strictSame(good.calls[0]?.request['client'], { ...(silent.calls[0]?.request['client'] as object), retry: true }, 'the same ref, marked as a retry');
  t.equal(silent.calls[0]?.via, 'session');
});

void t.test('a server without KvSession is served by unary calls', async (t) => {
  const old = await startFake({
    session: false,
    unary: {
      Put: () => ({ revision: 4 }),
      Get: () => ({ key: 'k', value: Buffer.from('v'), revision: 4 }),
      Delete: () => ({ revision: 5 }),
    },
  });
  const client = new ControllerClient({ endpoints: [old.address], timeoutMs: 2000 });
  stopAll(t, old, client);
  t.strictSame(await client.put('k', 'v'), { revision: 4 });
  t.equal(Buffer.from((await client.get('k')).value).toString(), 'v');
  t.strictSame(await client.delete('k'), { revision: 5 });
  t.strictSame(
    old.calls.map((c) => [c.method, c.via]),
    [
      ['Put', 'unary'],
      ['Get', 'unary'],
      ['Delete', 'unary'],
    ],
  );
  t.strictSame(old.calls[0]?.request['client'], { id: client.id, seq: 1, retry: false, owner: '' });
});

void t.test(`a value above ${MAX_SESSION_VALUE_BYTES} bytes goes in a unary call; smaller ones on the session`, async (t) => {
  const fake = await startFake({ unary: { Put: (req) => ({ revision: (req['value'] as Uint8Array).byteLength }) } });
  const client = new ControllerClient({ endpoints: [fake.address], timeoutMs: 5000 });
  stopAll(t, fake, client);
  t.strictSame(await client.put('big', Buffer.alloc(MAX_SESSION_VALUE_BYTES + 1, 'x')), { revision: MAX_SESSION_VALUE_BYTES + 1 });
  t.strictSame(await client.put('small', Buffer.alloc(MAX_SESSION_VALUE_BYTES, 'x')), { revision: MAX_SESSION_VALUE_BYTES });
  t.strictSame(
    fake.calls.map((c) => c.via),
    ['unary', 'session'],
  );
});

void t.test('closing the client fails what is still waiting on its session', async (t) => {
  const silent = await startFake({ unary: { Get: () => new Promise(() => undefined) } });
  const client = new ControllerClient({ endpoints: [silent.address], timeoutMs: 10000 });
  stopAll(t, silent);
  const pending = client.get('k');
  const caught = pending.catch((err: unknown) => err);
  // Wait for the request to reach the server, then close.
  const deadline = Date.now() + 5000;
  while (silent.calls.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.equal(silent.calls.length, 1);
  client.close();
  const err = await caught;
  t.ok(err instanceof ApiError, 'an ApiError');
  t.match((err as ApiError).message, /the client was closed/);
});

void t.test('a session refused at the caps of its controller: the request goes as a unary call, and so do the next ones', async (t) => {
  const capped = await startFake({ session: 'capped', unary: { Put: (req) => ({ revision: Number(String(req?.['key']).slice(1)) }) } });
  const client = new ControllerClient({ endpoints: [capped.address], timeoutMs: 2000 });
  stopAll(t, capped, client);
  t.strictSame(await client.put('k7', 'v'), { revision: 7 }, 'the put is served, not refused with the cap');
  t.strictSame(await client.put('k8', 'v'), { revision: 8 });
  t.strictSame(
    capped.calls.map((c) => [c.method, c.via]),
    [
      ['KvSession', 'session'],
      ['Put', 'unary'],
      ['Put', 'unary'],
    ],
    'one session refused, then unary calls without asking for another session meanwhile',
  );
});
