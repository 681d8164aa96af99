/**
 * A controller's reports fit one Raft entry whatever its agents send: record batches and mesh
 * reports are cut at REPORT_BUDGET_BYTES (the rest goes in the next report), and a hello that
 * publishes more than MAX_PUBLISH_BYTES is refused. A report larger than an entry could never
 * commit, and its controller, retrying it, would shed every agent (an adversarial test did
 * that with one agent certificate).
 */
import t from 'tap';
import { MeshReportQueue } from '../../src/agents/mesh-reports.js';
import { ReportBatch } from '../../src/agents/report-batch.js';
import { encodedBytes, MAX_PUBLISH_BYTES, REPORT_BUDGET_BYTES } from '../../src/agents/report-budget.js';
import { decodeAgentMessage, encodeAgentMessage } from '../../src/agents/wire.js';
import { encodeCommand, MAX_AGENT_ERROR_BYTES, MAX_ENCODED_COMMAND_BYTES, type AgentReportEntry, type HostedService, type PublishEntry } from '../../src/statemachine/index.js';

const labels = (n: number, seed: string): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}-${seed}`.padEnd(250, 'k'), 'v'.repeat(256)]));
const service = (name: string): HostedService => ({ name, spec: { protocol: 'http', ports: [80] }, labels: labels(64, name) });

void t.test('a batch of 1,000 NACKs with the longest errors goes in reports that each fit an entry', async (t) => {
  const b = new ReportBatch();
  const nack = (i: number): AgentReportEntry => ({ op: 'sync', id: `agent-${i}`, session: `c1:abcd-${i}`, sync: { sentVersion: 9, ackedVersion: 8, nackedVersion: 9, lastError: 'x'.repeat(MAX_AGENT_ERROR_BYTES), resources: 10 }, timeoutMs: 2000, pushes: 1 });
  for (let i = 0; i < 1000; i++) b.add(nack(i));
  t.ok(encodedBytes([...Array(1000).keys()].map(nack)) > MAX_ENCODED_COMMAND_BYTES, 'the premise: all of them would not fit one entry');
  const reports: AgentReportEntry[][] = [];
  for (let r = b.take(1000); r.length > 0; r = b.take(1000)) reports.push(r);
  t.ok(reports.length >= 2, `${reports.length} reports`);
  t.equal(reports.flat().length, 1000, 'every entry sent, none twice');
  t.same(new Set(reports.flat().map((e) => e.id)).size, 1000);
  for (const r of reports) {
    const bytes = encodeCommand({ kind: 'agents', op: 'report', controller: 'c1', entries: r, client: { id: 'agents/0123456789ab', seq: 1 } }).byteLength;
    t.ok(bytes <= MAX_ENCODED_COMMAND_BYTES, `a report of ${r.length} entries encodes to ${bytes} bytes`);
  }
});

void t.test('publishes, usage and health names too large for one mesh report are spread over several', async (t) => {
  const q = new MeshReportQueue('c1');
  const publish = (agent: string): PublishEntry => ({ agent, session: `${agent}-s`, lazy: false, hosts: [service(`${agent}-a`), service(`${agent}-b`), service(`${agent}-c`), service(`${agent}-d`)], dependencies: [] });
  for (let i = 0; i < 10; i++) q.publish(publish(`agent-${i}`));
  for (let i = 0; i < 4000; i++) q.checkHealth(`agent-${String(i).padStart(4, '0')}-${'h'.repeat(200)}`);
  t.ok(encodedBytes(publish('agent-0')) < MAX_PUBLISH_BYTES + 1024, 'the premise: each publish is one an agent may send');
  let published = 0;
  let checked = 0;
  let reports = 0;
  for (let r = q.take(0, 1000); r !== null; r = q.take(0, 1000)) {
    reports++;
    const bytes = encodeCommand({ ...r, at: 1, client: { id: 'agents/0123456789ab/mesh', seq: reports } }).byteLength;
    t.ok(bytes <= MAX_ENCODED_COMMAND_BYTES, `report ${reports}: ${r.publish.length} publishes, ${r.health.length} health checks, ${bytes} bytes`);
    published += r.publish.length;
    checked += r.health.length;
    q.done();
  }
  t.equal(published, 10, 'every publish sent once');
  t.equal(checked, 4000, 'every health check sent once');
  t.ok(reports > 1, `${reports} reports`);
});

void t.test('a hello publishing more than MAX_PUBLISH_BYTES is refused, naming the size', async (t) => {
  const hosts = Array.from({ length: 12 }, (_, i) => service(`svc-${String(i).padStart(2, '0')}`));
  t.ok(encodedBytes(hosts) > MAX_PUBLISH_BYTES, 'the premise: twelve services with the most labels allowed');
  const hello = { type: 'hello' as const, agentId: 'edge-2', clusterId: '', clusterName: '', hasConfig: false, version: 0, manifest: [], rejectedVersion: null, pushParts: false, epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: hosts.map((h) => h.name) }, hosts };
  t.throws(() => decodeAgentMessage(encodeAgentMessage(hello)), new RegExp(`hello.hosts: the services published take \\d+ bytes encoded, expected at most ${MAX_PUBLISH_BYTES}`));
  const fits = { ...hello, info: { ...hello.info, hosts: hosts.slice(0, 4).map((h) => h.name) }, hosts: hosts.slice(0, 4) };
  t.same(decodeAgentMessage(encodeAgentMessage(fits)).type, 'hello', 'four of them are fine');
  t.ok(MAX_PUBLISH_BYTES < REPORT_BUDGET_BYTES / 2, 'a publish with its dependencies always fits a report');
});
