/**
 * The agent's own decisions, pure: judging pushes (protocols, consistency, delta bases), the
 * failover order and back-off (seeded), agent.yaml, and the wire decoders' refusals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AgentConfig } from '../../src/agent/config-state.js';
import { agentYamlWarnings, parseAgentYaml } from '../../src/agent/agent-yaml.js';
import { BACKOFF_MAX_MS, Failover, HOLD_OFF_MS, startIndex, WRITE_RETRY_MAX_MS, writeRetryDelayMs } from '../../src/agent/failover.js';
import { sweepStaleTemps, writeAtomically } from '../../src/agent/out-file.js';
import { parseConfigJson } from '../../src/agent/load-out.js';
import { decodeAgentMessage, decodeControllerMessage, encodeAgentMessage, encodeControllerMessage, type AgentMessageWire, type ControllerMessageWire } from '../../src/agents/wire.js';
import { compareResources, type Resource } from '../../src/statemachine/index.js';
import { seededRng } from '../../src/util/rng.js';
import { MalformedMessageError } from '../../src/agents/errors.js';

const web: Resource = { kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80] }, labels: {}, status: {}, revision: 1 };
const db: Resource = { kind: 'service', name: 'db', spec: { protocol: 'grpc', ports: [5432] }, labels: {}, status: {}, revision: 2 };
const route: Resource = { kind: 'route', name: 'web-db', spec: { from: 'web', to: 'db' }, labels: {}, status: {}, revision: 2 };

void t.test('an agent NACKs a configuration using a protocol it lacks, with the reason, and keeps the last good one', async (t) => {
  const c = new AgentConfig(new Set(['http', 'tcp']));
  const first = c.judge({ version: 1, baseVersion: null, clusterId: 'k', upserts: [web], removes: [] });
  t.equal(first.type, 'accept');
  if (first.type === 'accept') c.commit(first.next);
  const second = c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [db, route], removes: [] });
  t.match(second, { type: 'reject', error: /service "db" uses protocol "grpc", which this agent does not support \(it supports http, tcp\)/ });
  t.equal(c.version, 1);
  t.same(c.json().resources.map((r) => r.name), ['web']);
});

void t.test('an agent refuses a configuration whose routes name services it lacks', async (t) => {
  const c = new AgentConfig(new Set(['http', 'grpc']));
  const v = c.judge({ version: 1, baseVersion: null, clusterId: 'k', upserts: [web, route], removes: [] });
  t.match(v, { type: 'reject', error: /route "web-db" names service "db", which the configuration lacks/ });
});

void t.test('a delta that does not start from what the agent holds asks for a resync', async (t) => {
  const c = new AgentConfig(new Set(['http']));
  t.match(c.judge({ version: 3, baseVersion: 2, clusterId: 'k', upserts: [], removes: [] }), { type: 'resync', reason: /holds nothing/ });
});

void t.test('deltas apply removes and upserts; the manifest lists key and revision', async (t) => {
  const c = new AgentConfig(new Set(['http', 'grpc']));
  const a = c.judge({ version: 2, baseVersion: null, clusterId: 'k', upserts: [web, db, route], removes: [] });
  if (a.type === 'accept') c.commit(a.next);
  const b = c.judge({ version: 3, baseVersion: 2, clusterId: 'k', upserts: [{ ...web, revision: 3, spec: { protocol: 'http', ports: [8080] } }], removes: ['route/web-db', 'service/db'] });
  if (b.type === 'accept') c.commit(b.next);
  t.same(c.manifest(), [{ key: 'service/web', revision: 3 }]);
  t.same(c.json(), { version: 3, cluster: 'k', resources: [{ ...web, revision: 3, spec: { protocol: 'http', ports: [8080] } }] });
});

void t.test('a delta is judged by what it touches: removing a service a kept route names is refused', async (t) => {
  const c = new AgentConfig(new Set(['http', 'grpc']));
  const a = c.judge({ version: 1, baseVersion: null, clusterId: 'k', upserts: [web, db, route], removes: [] });
  if (a.type === 'accept') c.commit(a.next);
  t.match(c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [], removes: ['service/db'] }), { type: 'reject', error: /route "web-db" names service "db", which the configuration lacks/ });
  t.match(c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [db], removes: ['service/db'] }), { type: 'accept' }, 'removed and upserted again: still held');
  t.match(c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [{ ...route, name: 'to-api', spec: { from: 'web', to: 'api' } }], removes: [] }), { type: 'reject', error: /route "to-api" names service "api"/ });
  t.match(c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [{ ...web, spec: { protocol: 'udp', ports: [53] } }], removes: [] }), { type: 'reject', error: /service "web" uses protocol "udp"/ });
  t.equal(c.version, 1, 'nothing refused was committed');
});

void t.test('a delta applies only to the configuration it was judged against; made whole, it can wait', async (t) => {
  const c = new AgentConfig(new Set(['http', 'grpc']));
  const a = c.judge({ version: 1, baseVersion: null, clusterId: 'k', upserts: [web], removes: [] });
  if (a.type === 'accept') c.commit(a.next);
  const first = c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [db], removes: [] });
  const second = c.judge({ version: 2, baseVersion: 1, clusterId: 'k', upserts: [{ ...db, name: 'cache' }], removes: [] });
  if (first.type !== 'accept' || second.type !== 'accept') return t.fail('both accepted');
  t.equal(first.next.kind, 'delta');
  const waiting = c.whole(second.next);
  c.commit(first.next);
  t.throws(() => c.commit(second.next), /judged against another configuration/, 'a stale delta is refused');
  t.same(c.json().resources.map((r) => r.name), ['db', 'web']);
  c.commit(waiting);
  t.same(c.json().resources.map((r) => r.name), ['cache', 'web'], 'the whole candidate is what it was judged as');
});

void t.test('deltas judged by what they touch agree with judging the whole result (seed 4242, 3,000 pushes)', async (t) => {
  const seed = 4242;
  t.comment(`seed ${seed}`);
  const rng = seededRng(seed);
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const protocols = ['http', 'grpc', 'udp'];
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length)]!;
  const resource = (revision: number): Resource =>
    rng.next() < 0.5
      ? { kind: 'service', name: pick(names), spec: { protocol: pick(protocols), ports: [80] }, labels: {}, status: {}, revision }
      : { kind: 'route', name: `r-${pick(names)}`, spec: { from: pick(names), to: pick(names) }, labels: {}, status: {}, revision };
  const c = new AgentConfig(new Set(['http', 'grpc']));
  const start = c.judge({ version: 1, baseVersion: null, clusterId: 'k', upserts: [], removes: [] });
  if (start.type === 'accept') c.commit(start.next);
  let disagreements = 0;
  let accepted = 0;
  let refused = 0;
  for (let v = 2; v < 3002; v++) {
    const held = c.json().resources;
    const upserts = Array.from({ length: rng.int(0, 4) }, () => resource(v));
    const removes = held.filter(() => rng.next() < 0.2).map((r) => `${r.kind}/${r.name}`);
    if (rng.next() < 0.1) removes.push(`service/${pick(names)}`);
    const verdict = c.judge({ version: v, baseVersion: c.version, clusterId: 'k', upserts, removes });
    // The reference: the same result sent whole to an agent holding nothing.
    const result = new Map(held.map((r) => [`${r.kind}/${r.name}`, r]));
    for (const key of removes) result.delete(key);
    for (const r of upserts) result.set(`${r.kind}/${r.name}`, r);
    const reference = new AgentConfig(new Set(['http', 'grpc'])).judge({ version: v, baseVersion: null, clusterId: 'k', upserts: [...result.values()], removes: [] });
    if (verdict.type !== reference.type) disagreements++;
    if (verdict.type === 'accept') {
      c.commit(verdict.next);
      accepted++;
      if (JSON.stringify(c.json().resources) !== JSON.stringify([...result.values()].sort(compareResources))) disagreements++;
    } else refused++;
  }
  t.equal(disagreements, 0, 'the same verdict and the same configuration');
  t.ok(accepted > 300 && refused > 300, `both verdicts exercised (${accepted} accepted, ${refused} refused)`);
});

void t.test('failover: the next controller at once after a session, back-off with seeded jitter after a failed round', async (t) => {
  const seed = 7;
  t.comment(`seed ${seed}`);
  const f = new Failover(3, 1, seededRng(seed));
  t.equal(f.current(), 1);
  const ended = f.next('ended', 0);
  t.equal(ended.index, 2);
  t.ok(ended.delayMs >= 0 && ended.delayMs < 100, `the next controller within 100 ms (${ended.delayMs})`);
  t.same(f.next('failed', 0), { index: 0, delayMs: 0 });
  t.same(f.next('failed', 0), { index: 1, delayMs: 0 });
  const third = f.next('failed', 0);
  t.equal(third.index, 2);
  t.ok(third.delayMs >= 80 && third.delayMs <= 120, `first back-off ${third.delayMs}ms`);
  let last = 0;
  for (let i = 0; i < 30; i++) last = f.next('failed', 0).delayMs;
  t.ok(last <= BACKOFF_MAX_MS * 1.2, `capped (${last}ms)`);
  t.ok(f.next('ended', 0).delayMs < 100, 'a session that worked resets the back-off');
  t.same(f.next('taken-over', 0), { index: f.current(), delayMs: HOLD_OFF_MS }, 'taken over: the same list, held off');
  t.equal(f.next('resync', 0).delayMs, 0);
});

void t.test('agents spread over controllers by id, stably', async (t) => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[startIndex(`agent-${i}`, 3)]!++;
  for (const c of counts) t.ok(c > 850 && c < 1150, `${c} of 3000`);
  t.equal(startIndex('a1', 3), startIndex('a1', 3));
});

void t.test('agent.yaml: defaults, sorted lists, and refusals that name the key', async (t) => {
  t.same(parseAgentYaml('', 'a.yaml'), { protocols: ['http', 'tcp'], lazy: false, dependencies: [], hosts: [] });
  const y = parseAgentYaml('protocols: [tcp, http, grpc]\nlazy: true\ndependencies: [db, cache]\nhosts:\n  - { name: web, spec: { protocol: http, ports: [8080] }, labels: { tier: front } }\n', 'a.yaml');
  t.same(y, { protocols: ['grpc', 'http', 'tcp'], lazy: true, dependencies: ['cache', 'db'], hosts: [{ name: 'web', spec: { protocol: 'http', ports: [8080] }, labels: { tier: 'front' } }] });
  t.throws(() => parseAgentYaml('protocol: [http]\n', 'a.yaml'), /a\.yaml: protocol: unknown key "protocol" \(did you mean "protocols"\?\).*\(line 1\)/);
  t.throws(() => parseAgentYaml('dependencies: [db, db]\n', 'a.yaml'), /dependencies: "db" is listed twice/);
  t.throws(() => parseAgentYaml('hosts:\n  - { name: Web, spec: { protocol: http } }\n', 'a.yaml'), /hosts\[0\]\.name: expected a service name/);
  t.throws(() => parseAgentYaml('hosts:\n  - { name: web, spec: { protocol: http, ports: [0] } }\n', 'a.yaml'), /hosts\[0\]\.spec: ports\[0\] must be a port number/);
  t.throws(() => parseAgentYaml('lazy: sometimes\n', 'a.yaml'), /lazy: expected true or false/);
});

void t.test('agent.yaml that parses but looks wrong: a protocol name like a typo, a hosted service the agent would NACK', async (t) => {
  t.same(agentYamlWarnings(parseAgentYaml('protocols: [http, tcp, grpc, udp]\nhosts:\n  - { name: web, spec: { protocol: http } }\n', 'a.yaml'), 'a.yaml'), [], 'nothing to say');
  t.same(agentYamlWarnings(parseAgentYaml('protocols: [htpp, tcp, redis]\n', 'a.yaml'), 'a.yaml'), [
    'a.yaml: protocols lists "htpp", which is not a common protocol name (did you mean "http"?): a configuration with a service of a protocol not listed is NACKed',
    'a.yaml: protocols lists "redis", which is not a common protocol name: a configuration with a service of a protocol not listed is NACKed',
  ]);
  t.same(agentYamlWarnings(parseAgentYaml('hosts:\n  - { name: rpc, spec: { protocol: grpc } }\n', 'a.yaml'), 'a.yaml'), [
    'a.yaml: hosts: service "rpc" uses protocol "grpc", which protocols does not list (http, tcp): this agent would NACK every configuration holding its own service',
  ]);
});

const agentWire = (fields: Partial<AgentMessageWire>): AgentMessageWire => ({ type: 'AGENT_MESSAGE_HELLO', agentId: 'a1', clusterId: '', clusterName: '', hasConfig: false, version: 0, nonce: 0, error: '', seq: 0, body: new Uint8Array(0), rejectedVersion: 0, pushParts: false, ...fields });

void t.test('wire: hello, ack, nack and pong round-trip; bad ones are refused with the field', async (t) => {
  const hello = { type: 'hello' as const, agentId: 'a1', clusterId: 'k', clusterName: '', hasConfig: true, version: 5, manifest: [{ key: 'service/web', revision: 4 }], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 2 }, info: { protocols: ['http'], lazy: false, dependencies: ['db'], hosts: [] }, hosts: [] };
  t.same(decodeAgentMessage(encodeAgentMessage(hello)), hello);
  t.same(decodeAgentMessage(encodeAgentMessage({ type: 'nack', nonce: 3, version: 5, error: 'no' })), { type: 'nack', nonce: 3, version: 5, error: 'no' });
  const body = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
  t.throws(() => decodeAgentMessage(agentWire({ body: new Uint8Array([0xff, 0x00]) })), /hello\.body: expected UTF-8 JSON/);
  t.throws(() => decodeAgentMessage(agentWire({ body: new TextEncoder().encode('['.repeat(2_000_000)) })), /hello\.body: expected JSON nested at most 64 levels deep, found deeper/);
  t.throws(() => decodeAgentMessage(agentWire({ agentId: 'bad id', body: body({}) })), /field "agentId" must be letters/);
  t.throws(() => decodeAgentMessage(agentWire({ hasConfig: true, version: 3, body: body({ epoch: { boot: 'b', seq: 1 }, info: hello.info, manifest: [['service/web', 9]] }) })), /a revision in \[1, 3\], found 9/);
  t.throws(() => decodeAgentMessage(agentWire({ hasConfig: true, version: 3, body: body({ epoch: { boot: 'b', seq: 1 }, info: hello.info, manifest: [['../etc', 1]] }) })), /expected a resource key/);
  t.throws(() => decodeAgentMessage(agentWire({ body: body({ epoch: { boot: 'b', seq: 1 }, info: { ...hello.info, protocols: 'http' } }) })), /protocols: expected a list/);
  t.throws(() => decodeAgentMessage(agentWire({ type: 7 })), /expected a message type HELLO, ACK, NACK, PONG or USAGE, found 7/);
  const long = decodeAgentMessage(agentWire({ type: 'AGENT_MESSAGE_NACK', error: 'e'.repeat(1_000_000) }));
  t.equal(long.type === 'nack' && long.error.length, 64 * 1024, 'an endless NACK error is cut on arrival');
});

void t.test('wire: a push round-trips; an agent refuses a malformed one', async (t) => {
  const plan = { baseVersion: 1, version: 2, upserts: [web], removes: ['route/x'], resources: 1 };
  const w = encodeControllerMessage({ type: 'push', nonce: 9, clusterId: 'k', plan });
  t.same(decodeControllerMessage(w), { type: 'push', nonce: 9, clusterId: 'k', version: 2, baseVersion: 1, upserts: [web], removes: ['route/x'] });
  const bad = (body: unknown): ControllerMessageWire => ({ ...w, body: new TextEncoder().encode(JSON.stringify(body)) });
  t.throws(() => decodeControllerMessage(bad({ upserts: [{ ...web, spec: { protocol: 'http', ports: ['x'] } }], removes: [] })), /push\.upserts\[0\].*ports\[0\] must be a port number/);
  t.throws(() => decodeControllerMessage(bad({ upserts: [], removes: [], extra: 1 })), /unexpected field "extra"/);
  // Each field of a stored resource is checked, and what comes out has the cluster's field order
  // (equal resources are equal JSON on the agent, in --out and in GET /config).
  const full: Resource = { kind: 'service', name: 'api', spec: { protocol: 'http', ports: [80, 443] }, labels: { team: 'x' }, status: { vip: '241.0.0.9', endpoints: [{ agent: 'a-1', healthy: true }] }, revision: 2 };
  const pushed = decodeControllerMessage(bad({ upserts: [full, route], removes: [] }));
  t.equal(pushed.type === 'push' && JSON.stringify(pushed.upserts), JSON.stringify([full, route]));
  t.throws(() => decodeControllerMessage(bad({ upserts: [{ ...web, owner: 'me' }], removes: [] })), /push\.upserts\[0\]: unexpected field "owner"/);
  // Small bodies are parsed without the depth scan (wire.ts): a deep one is still refused, by the checks after the parse.
  const deep = (levels: number): ControllerMessageWire => ({ ...w, body: new TextEncoder().encode(`{"upserts":[${'['.repeat(levels)}${']'.repeat(levels)}],"removes":[]}`) });
  t.throws(() => decodeControllerMessage(deep(1000)), MalformedMessageError, 'a push 1,000 levels deep in 2 KB is malformed');
  t.throws(() => decodeControllerMessage(deep(5000)), /push\.body: expected JSON nested at most 64 levels deep, found deeper/, 'one of 10 KB is refused by the depth scan, before the parse');
  t.throws(() => decodeControllerMessage(bad({ upserts: [{ ...route, status: { vip: '241.0.0.1' } }], removes: [] })), /push\.upserts\[0\]: status: unexpected field "vip"/);
  t.throws(() => decodeControllerMessage(bad({ upserts: [{ ...web, revision: undefined }], removes: [] })), /push\.upserts\[0\]: field "revision"/);
  t.throws(() => decodeControllerMessage(bad({ upserts: [{ ...web, status: { vip: 'ten' } }], removes: [] })), /field "vip" must be an IPv4 address/);
});

void t.test('a failed --out write is asked for again after 1 s, doubling to 30 s, jittered; nothing half-written stays', async (t) => {
  const rng = seededRng(11);
  t.comment('seed 11');
  const delays = [1, 2, 3, 6, 20].map((n) => writeRetryDelayMs(n, rng));
  t.ok(delays[0]! >= 800 && delays[0]! <= 1200, `first ${delays[0]}ms`);
  t.ok(delays[1]! >= 1600 && delays[1]! <= 2400, `second ${delays[1]}ms`);
  t.ok(delays[2]! >= 3200 && delays[2]! <= 4800, `third ${delays[2]}ms`);
  t.ok(delays[3]! <= WRITE_RETRY_MAX_MS * 1.2 && delays[4]! <= WRITE_RETRY_MAX_MS * 1.2 && delays[4]! >= WRITE_RETRY_MAX_MS * 0.8, `capped (${delays[3]}, ${delays[4]}ms)`);
  // The rename fails (the target is a directory) after the temporary file was written.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'a.json'));
  await t.rejects(writeAtomically(path.join(dir, 'a.json'), '{}\n'), /EISDIR|ENOTEMPTY|EEXIST/);
  t.same(fs.readdirSync(dir), ['a.json'], 'the temporary file is removed');
});

// attack-operator round 15: `.edge.json.2584.tmp` stayed beside an agent's --out after it was
// stopped mid-write, one more per process so stopped, never removed.
void t.test("temporary copies of --out left by processes that no longer run are swept at start; a live one's are kept", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'edge.json');
  // A pid above the kernel's pid_max (4194304 at most) belongs to no process.
  const gone = path.join(dir, '.edge.json.4194305.tmp');
  const live = path.join(dir, `.edge.json.${process.ppid}.tmp`);
  const own = path.join(dir, `.edge.json.${process.pid}.tmp`);
  const other = path.join(dir, '.other.json.4194305.tmp');
  for (const f of [gone, live, own, other]) fs.writeFileSync(f, '{}');
  t.same(sweepStaleTemps(out), [gone]);
  t.same(fs.readdirSync(dir).sort(), [own, live, other].map((f) => path.basename(f)).sort(), "a running process's copy, this one's and another file's are kept");
  t.same(sweepStaleTemps(path.join(dir, 'missing', 'x.json')), [], 'a directory that does not exist: nothing to sweep');
});

void t.test('a previous --out file is read back, and a broken one is named', async (t) => {
  const text = JSON.stringify({ version: 3, cluster: 'k', resources: [web] });
  t.same(parseConfigJson(text, 'out.json'), { version: 3, cluster: 'k', resources: [web] });
  t.throws(() => parseConfigJson('{"version": -1, "resources": []}', 'out.json'), /out\.json: field "version" must be in \[0/);
  t.throws(() => parseConfigJson('not json', 'out.json'), /out\.json: expected JSON/);
});
