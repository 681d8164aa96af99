/**
 * A forward on a connection that silently stops carrying what the follower sends (a one-way
 * loss inside an open connection, while the leader's heartbeats still arrive elsewhere) fails
 * as a link reset once a keepalive ping goes unanswered, instead of waiting out the client's
 * deadline; and a forwarder with nothing to forward sends its leader no pings
 * (src/api/forward-keepalive.ts). A real gRPC server behind the chaos fault proxy, which drops
 * the follower -> leader direction while keeping the sockets open.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { FaultProxy } from '../../chaos/fault-proxy.js';
import { LinkTable } from '../../chaos/link-faults.js';
import { forwardKeepalive, type ForwardKeepalive } from '../../src/api/forward-keepalive.js';
import { LeaderForwarder } from '../../src/api/leader-forwarder.js';
import { MeshForwarder } from '../../src/api/mesh-forwarder.js';
import { meshServiceDefinition } from '../../src/api/mesh-proto.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { startFake } from '../cli/fake-controller.js';
import { FakeConsensus } from './fake-consensus.js';
import { H2ClientFrames } from '../helpers/h2-frames.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

const FOLLOWER = 'follower';
const LEADER = 'leader';
const put = (seq: number): object => ({ key: 'k', value: Buffer.from('v'), hasIfRevision: false, ifRevision: 0, client: { id: 'client-1', seq }, forwarded: false });

interface Rig {
  readonly address: string;
  readonly links: LinkTable;
  readonly fwd: LeaderForwarder;
  /** What the follower sent on each connection, by connection number. */
  readonly sent: Map<number, H2ClientFrames>;
  readonly calls: () => number;
}

async function rig(t: Test, keepalive: ForwardKeepalive): Promise<Rig> {
  const leader = await startFake({ unary: { Put: () => ({ revision: 7 }) } });
  const { address, links, sent, close } = await proxied(leader.address);
  const fwd = new LeaderForwarder(grpc.credentials.createInsecure(), keepalive);
  t.teardown(async () => {
    fwd.close();
    await close();
    await leader.stop();
  });
  return { address, links, fwd, sent, calls: () => leader.calls.length };
}

/** The chaos fault proxy in front of `target`, tapping what the follower sends on each connection. */
async function proxied(target: string): Promise<{ address: string; links: LinkTable; sent: Map<number, H2ClientFrames>; close: () => Promise<void> }> {
  const [host, port] = target.split(':') as [string, string];
  const links = new LinkTable();
  const sent = new Map<number, H2ClientFrames>();
  const proxy = await FaultProxy.start({
    node: LEADER,
    listenHost: '127.0.0.1',
    listenPort: 0,
    targetHost: host,
    targetPort: Number(port),
    links,
    identify: () => FOLLOWER,
    random: () => 0,
    onSent: (conn, direction, chunk) => {
      if (direction !== 'up') return;
      let frames = sent.get(conn);
      if (frames === undefined) sent.set(conn, (frames = new H2ClientFrames()));
      frames.push(chunk);
    },
  });
  return { address: `127.0.0.1:${proxy.port}`, links, sent, close: () => proxy.close() };
}

/** The forward's outcome, or 'still waiting' once `ms` have passed (the test's own bound, far below its deadline). */
async function within(ms: number, forward: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  try {
    return await Promise.race([forward.catch((e: unknown) => e), bound]);
  } finally {
    clearTimeout(timer);
  }
}

void t.test('a forward on a connection that drops what the follower sends fails NO_LEADER at the keepalive bound, not at its 30 s deadline', async (t) => {
  // The production timing of the default 1 s election timeout: a ping every 500 ms, 1.5 s to answer.
  const keepalive = forwardKeepalive(1000);
  const { address, links, fwd, calls } = await rig(t, keepalive);
  t.strictSame(await fwd.call(address, 'put', put(1), Date.now() + 30_000), { revision: 7 }, 'the first forward goes through');

  links.setCut([FOLLOWER], [LEADER], true);
  const began = Date.now();
  const outcome = await within(10_000, fwd.call(address, 'put', put(2), began + 30_000));
  const tookMs = Date.now() - began;
  t.ok(outcome instanceof ServiceFailure, `the forward failed rather than ${String(outcome)}`);
  t.match(outcome, { code: 'NO_LEADER', message: /unreachable/ });
  const bound = keepalive.pingEveryMs + keepalive.pingTimeoutMs;
  t.ok(tookMs <= bound + 3000, `failed ${tookMs} ms after it began: within a ping interval and a ping timeout (${bound} ms) and a margin for a loaded host`);
  t.equal(calls(), 1, 'the leader never saw the second forward');
});

void t.test('through on-leader: the reset forward is retried on new connections for the budget, then NO_LEADER, while the leader is still heard', async (t) => {
  const keepalive: ForwardKeepalive = { pingEveryMs: 100, pingTimeoutMs: 200, sessionIdleMs: 400 };
  const { address, links, fwd, sent } = await rig(t, keepalive);
  const budgetMs = 500;
  const onLeader = onLeaderOf({
    id: 'c1',
    host: new FakeConsensus('c1', { leader: 'c2', voters: ['c1', 'c2', 'c3'] }),
    addressOf: () => address,
    forwarder: fwd,
    forwardBudgetMs: budgetMs,
    // The leader's heartbeats keep arriving: whileLeaderHeard alone would keep the forward.
    leaderHeardAt: () => Date.now(),
  });
  const local = (): Promise<never> => Promise.reject(new Error('not the leader'));
  t.strictSame(await onLeader('put', put(1) as { forwarded: boolean }, Date.now() + 30_000, local), { revision: 7 });

  links.setCut([FOLLOWER], [LEADER], true);
  const began = Date.now();
  const outcome = await within(10_000, onLeader('put', put(2) as { forwarded: boolean }, began + 30_000, local));
  const tookMs = Date.now() - began;
  t.match(outcome, { code: 'NO_LEADER', message: /^c1 has not reached leader c2 .*: try another controller$/ });
  const bound = 2 * (keepalive.pingEveryMs + keepalive.pingTimeoutMs) + budgetMs;
  t.ok(tookMs <= bound + 3000, `answered ${tookMs} ms after it began (a reset, the budget, the last attempt's reset: ${bound} ms) and a margin for a loaded host`);
  t.ok(sent.size >= 2, `retried on a new connection (${sent.size} connections)`);
});

void t.test('an idle forwarder ends its session and sends no pings; the next forward opens a new one', async (t) => {
  const keepalive: ForwardKeepalive = { pingEveryMs: 100, pingTimeoutMs: 1000, sessionIdleMs: 300 };
  const { address, fwd, sent, calls } = await rig(t, keepalive);
  t.strictSame(await fwd.call(address, 'put', put(1), Date.now() + 10_000), { revision: 7 });
  const wire = (): H2ClientFrames => {
    const frames = sent.get(1);
    if (frames === undefined) throw new Error('the follower sent nothing');
    return frames;
  };
  await waitFor(() => wire().resets() > 0, 'the idle session to be cancelled', 5000);
  t.ok(wire().pings() >= 1, `the connection pinged while its session was open (${wire().pings()} pings)`);

  // A ping sent as the session ended may still be answered; from one interval on there are none.
  await new Promise((resolve) => setTimeout(resolve, keepalive.pingEveryMs));
  const before = wire().pings();
  const quietMs = 10 * keepalive.pingEveryMs;
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  t.equal(wire().pings(), before, `no ping in ${quietMs} ms (ten ping intervals) without a call`);

  t.strictSame(await fwd.call(address, 'put', put(2), Date.now() + 10_000), { revision: 7 }, 'the next forward opens a new session on the same connection');
  t.equal(calls(), 2);
  t.equal(sent.size, 1, 'one connection throughout');
});

void t.test('the timing follows the election timeout, above the pings the server permits and the answers a loaded leader gives', (t) => {
  t.strictSame(forwardKeepalive(100), { pingEveryMs: 500, pingTimeoutMs: 1500, sessionIdleMs: 2000 });
  t.strictSame(forwardKeepalive(1000), { pingEveryMs: 500, pingTimeoutMs: 1500, sessionIdleMs: 2000 });
  t.strictSame(forwardKeepalive(4000), { pingEveryMs: 2000, pingTimeoutMs: 2000, sessionIdleMs: 8000 });
  t.end();
});

void t.test("the mesh's forwards (ctl apply, delete through a follower) fail NO_LEADER at the keepalive bound too", async (t) => {
  const keepalive = forwardKeepalive(1000);
  let applies = 0;
  const server = new grpc.Server();
  server.addService(meshServiceDefinition().service, {
    Apply: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      applies++;
      cb(null, { revision: 3, results: Buffer.from('[]') });
    },
  });
  const [wanted] = await freePorts(1);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${wanted!}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const { address, links, close } = await proxied(`127.0.0.1:${port}`);
  const fwd = new MeshForwarder(grpc.credentials.createInsecure(), keepalive);
  t.teardown(async () => {
    fwd.close();
    await close();
    server.forceShutdown();
  });
  const apply = (seq: number): object => ({ resources: Buffer.from('[]'), clientId: 'client-1', clientSeq: seq });
  t.match(await fwd.call(address, 'Apply', apply(1), Date.now() + 30_000), { revision: 3 }, 'the first forward goes through');

  links.setCut([FOLLOWER], [LEADER], true);
  const began = Date.now();
  const outcome = await within(10_000, fwd.call(address, 'Apply', apply(2), began + 30_000));
  const tookMs = Date.now() - began;
  t.match(outcome, { code: 'NO_LEADER', message: /unreachable/ }, 'failed as a link reset, not at the 30 s deadline');
  const bound = keepalive.pingEveryMs + keepalive.pingTimeoutMs;
  t.ok(tookMs <= bound + 3000, `failed ${tookMs} ms after it began (a ping interval and a ping timeout: ${bound} ms, and a margin for a loaded host)`);
  t.equal(applies, 1, 'the leader never saw the second forward');
});
