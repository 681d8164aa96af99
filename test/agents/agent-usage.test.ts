/**
 * The agent's side of observed dependencies, pure: what /resolve answers and reports, the
 * batching and bounds of usage reports, and the wire's refusals of bad usage and hosts.
 */
import http from 'node:http';
import t from 'tap';
import { adminExposure, adminHandler } from '../../src/agent/admin.js';
import { DEFAULT_USAGE_OPTIONS, UsageReporter } from '../../src/agent/usage-reporter.js';
import { USAGE_BURST, USAGE_PER_SECOND } from '../../src/agents/hub.js';
import { RateBudget } from '../../src/util/rate-budget.js';
import { decodeAgentMessage, encodeAgentMessage, type AgentMessageWire } from '../../src/agents/wire.js';
import { MAX_USAGE_NAMES } from '../../src/statemachine/index.js';

void t.test('a miss is sent at once and again at most once per second while it keeps missing', async (t) => {
  const u = new UsageReporter({ missResendMs: 1000, useBatchMs: 1000, maxPending: 100 });
  u.miss('db', 0);
  u.miss('db', 1);
  t.equal(u.dueAt(), Number.NEGATIVE_INFINITY, 'due now');
  t.same(u.take(5), { missed: ['db'], used: [] });
  u.miss('db', 500);
  t.equal(u.take(600), null, 'within a second of being sent: not again');
  u.miss('db', 1005);
  t.same(u.take(1006), { missed: ['db'], used: [] });
});

void t.test('hits are batched: sent at most once per batch interval', async (t) => {
  const u = new UsageReporter({ missResendMs: 1000, useBatchMs: 1000, maxPending: 100 });
  u.hit('a');
  t.same(u.take(0), { missed: [], used: ['a'] });
  u.hit('b');
  u.hit('c');
  t.equal(u.dueAt(), 1000);
  t.equal(u.take(999), null);
  t.same(u.take(1000), { missed: [], used: ['b', 'c'] });
});

void t.test('10,000 unknown names: a bounded number waits and goes in bounded messages; the rest are counted', async (t) => {
  const u = new UsageReporter({ missResendMs: 1000, useBatchMs: 1000, maxPending: 1000 });
  for (let i = 0; i < 10_000; i++) u.miss(`n${i}`, 0);
  t.equal(u.dropped, 9_000);
  let sent = 0;
  for (let batch = u.take(0); batch !== null; batch = u.take(0)) {
    t.ok(batch.missed.length <= MAX_USAGE_NAMES);
    sent += batch.missed.length;
  }
  t.equal(sent, 1000);
});

void t.test("misses of new names a few ms apart for seconds: every message fits the controller's usage budget, no name lost", async (t) => {
  // The agent's loop (agent-runner.ts scheduleUsage): a message when due, the timer at least 2 ms.
  // Before, each miss went alone 2 ms after it: a new name every 5 ms sent 200 messages a second,
  // and the controller dropped unread all past 50 a second after its burst of 100 (hub.ts).
  const u = new UsageReporter(DEFAULT_USAGE_OPTIONS);
  const budget = new RateBudget(USAGE_PER_SECOND, USAGE_BURST, 0);
  const sent = new Set<string>();
  let messages = 0;
  let dropped = 0;
  let timerAt: number | null = null;
  for (let now = 0; now <= 10_000; now++) {
    if (now % 5 === 0 && now < 8_000) u.miss(`dep-${now}`, now);
    if (timerAt !== null && now >= timerAt) {
      timerAt = null;
      const batch = u.take(now);
      if (batch !== null) {
        messages++;
        if (budget.take(now)) for (const n of batch.missed) sent.add(n);
        else dropped++;
      }
    }
    const due = u.dueAt();
    if (timerAt === null && due !== null) timerAt = now + Math.max(2, due - now);
  }
  t.equal(dropped, 0, `${messages} messages, none past the controller's budget`);
  t.equal(sent.size, 1600, 'every name missed reached the controller');
});

void t.test('wire: a usage message round-trips; too many or bad names are refused with the field', async (t) => {
  const m = { type: 'usage' as const, missed: ['db', 'kv'], used: ['web'] };
  t.same(decodeAgentMessage(encodeAgentMessage(m)), m);
  const wire = (body: unknown): AgentMessageWire => ({ type: 'AGENT_MESSAGE_USAGE', agentId: '', clusterId: '', clusterName: '', hasConfig: false, version: 0, nonce: 0, error: '', seq: 0, body: new TextEncoder().encode(JSON.stringify(body)), rejectedVersion: 0, pushParts: false });
  t.throws(() => decodeAgentMessage(wire({ missed: Array.from({ length: 300 }, (_, i) => `x${i}`) })), /usage\.missed: expected at most 256 names/);
  t.throws(() => decodeAgentMessage(wire({ missed: ['../etc'] })), /usage\.missed\[0\]: expected a service name/);
  t.throws(() => decodeAgentMessage(wire({ missed: [], extra: 1 })), /unexpected field "extra"/);
});

void t.test('wire: a hello publishes whole services; an invalid spec or names that disagree with info.hosts are refused', async (t) => {
  const info = { protocols: ['http'], lazy: true, dependencies: [], hosts: ['web'] };
  const hello = { type: 'hello' as const, agentId: 'a1', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info, hosts: [{ name: 'web', spec: { protocol: 'http', ports: [8080] }, labels: { tier: 'front' } }] };
  t.same(decodeAgentMessage(encodeAgentMessage(hello)), hello);
  const body = (hosts: unknown, i = info): AgentMessageWire => ({ ...encodeAgentMessage(hello), body: new TextEncoder().encode(JSON.stringify({ epoch: hello.epoch, info: i, hosts })) });
  t.throws(() => decodeAgentMessage(body([{ name: 'web', spec: { protocol: 'http', ports: [70000] } }])), /hello\.hosts\[0\] \(service "web"\): spec: ports\[0\] must be a port number in \[1, 65535\]/);
  t.throws(() => decodeAgentMessage(body([{ name: 'api', spec: { protocol: 'http' } }])), /hello\.hosts: the services published \(api\) must be those info\.hosts names \(web\)/);
  t.throws(() => decodeAgentMessage(body(undefined)), /the services published \(none\)/, 'names without specs');
});

void t.test('admin: /resolve answers 200 with the VIP for a service it has, 202 via fallback otherwise, 400 for a bad name', async (t) => {
  const asked: string[] = [];
  const server = http.createServer(
    adminHandler({
      config: () => ({ version: 1, cluster: 'k', resources: [] }),
      resolve: (name) => {
        asked.push(name);
        return name === 'web' ? { type: 'hit', vip: '241.0.0.1' } : { type: 'fallback' };
      },
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.json() };
  };
  t.same(await get('/resolve/web'), { status: 200, body: { name: 'web', vip: '241.0.0.1' } });
  t.same(await get('/resolve/db'), { status: 202, body: { name: 'db', via: 'fallback' } });
  t.match(await get('/resolve/Not%20A%20Name'), { status: 400, body: { error: /expected a service name/ } });
  t.same(asked, ['web', 'db'], 'a bad name is not reported');
});

void t.test('admin: beyond loopback the agent warns that the port reads its configuration and writes to the cluster (round 6, F7)', async (t) => {
  for (const loopback of ['127.0.0.1:9901', 'localhost:9901', '[::1]:9901']) t.equal(adminExposure(loopback), null, `${loopback}: no warning`);
  for (const exposed of ['0.0.0.0:9901', '10.0.0.5:9901', '[::]:9901']) {
    t.match(adminExposure(exposed), /^ADMIN_EXPOSED: --admin \S+ serves plain HTTP without authentication beyond loopback: .*recorded by the cluster as a dependency/, `${exposed}: warned`);
  }
});
