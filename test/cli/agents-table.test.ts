/** The table form of `ctl list agents` and `ctl get`: plain, narrow, durations as durations; JSON unchanged. */
import t from 'tap';
import YAML from 'yaml';
import type { AgentRow } from '../../src/agents/listing.js';
import { renderAgents, renderResources } from '../../src/cli/agents-output.js';

const row = (id: string, over: Partial<AgentRow> = {}): AgentRow => ({
  id,
  online: true,
  controller: 'c2',
  state: 'SYNCED',
  sentVersion: 57,
  ackedVersion: 57,
  nackedVersion: null,
  lastError: null,
  pushes: 4,
  resources: 12,
  dependencies: ['db'],
  hosts: ['web'],
  lastContactMs: 40,
  heartbeatTimeoutMs: 2230,
  publishWrites: 0,
  publishRevisions: 0,
  publish: null,
  ...over,
});

const view = {
  agents: [
    row('router-0001'),
    row('router-0002', { online: false, state: 'NACKED', nackedVersion: 58, lastError: 'protocol udp is not supported by this agent (supports http, tcp)', lastContactMs: null }),
    row('router-0003', { hosts: ['api', 'web'], publish: { refusedHosts: [{ name: 'api', reason: 'range exhausted: no virtual IP is free in services.vip_cidr' }], held: null } }),
    row('router-0004', { publish: { refusedHosts: [], held: 'the state is at its quota (controller.quota_bytes): services it would create wait for room' } }),
  ],
  answeredBy: 'c1',
  stale: false,
  staleReason: '',
};

void t.test('list agents: a header line, then plain columns without borders, under 100 columns', async (t) => {
  const text = renderAgents(view, 'table');
  const lines = text.trimEnd().split('\n');
  t.equal(lines[0], 'answered by c1 (current view); 4 agents');
  t.strictSame(lines[1]!.split(/ {2,}/), ['ID', 'STATUS', 'CONTROLLER', 'STATE', 'SENT', 'ACKED', 'PUSHES', 'LAST-CONTACT', 'LAST-ERROR']);
  t.strictSame(lines[2]!.split(/ {2,}/), ['router-0001', 'online', 'c2', 'SYNCED', '57', '57', '4', '40ms', '-']);
  t.strictSame(lines[3]!.split(/ {2,}/), ['router-0002', 'offline', 'c2', 'NACKED', '57', '57', '4', '-', 'protocol udp is n...'], 'errors cut short in the table');
  t.notMatch(text, /[│┌─]/);
  t.ok(Math.max(...lines.map((l) => l.length)) < 100);
});

void t.test('list agents -o wide has every column, the error whole up to 120 characters', async (t) => {
  const lines = renderAgents(view, 'wide').trimEnd().split('\n');
  t.strictSame(lines[1]!.split(/ {2,}/), ['ID', 'STATUS', 'CONTROLLER', 'STATE', 'SENT', 'ACKED', 'NACKED', 'PUSHES', 'RESOURCES', 'DEPENDENCIES', 'HOSTS', 'REFUSED', 'LAST-CONTACT', 'HB-TIMEOUT', 'LAST-ERROR']);
  t.match(lines[3], /NACKED +57 +57 +58 +4 +12 +db +web +- +- +2\.2s +protocol udp is not supported by this agent \(supports http, tcp\)$/);
  t.match(lines[4], /^router-0003 .* api,web +api +40ms /, 'a refused service by name');
  t.match(lines[5], /^router-0004 .* web +\(held\) +40ms /, 'a declaration held back whole');
});

void t.test('list agents -o json: what the serving controller refuses, with its reasons', async (t) => {
  const rows = JSON.parse(renderAgents(view, 'json')) as Record<string, unknown>[];
  t.same(rows[0]!['publish'], null, 'null: no controller said');
  t.same(rows[2]!['publish'], { refusedHosts: [{ name: 'api', reason: 'range exhausted: no virtual IP is free in services.vip_cidr' }], held: null });
  t.match(rows[3]!['publish'], { refusedHosts: [], held: /controller\.quota_bytes/ });
});

void t.test('list agents -o json keeps the contract fields, and a stale view says so', async (t) => {
  const rows = JSON.parse(renderAgents(view, 'json')) as Record<string, unknown>[];
  t.match(rows[1], { id: 'router-0002', online: false, state: 'NACKED', lastContactMs: null, heartbeatTimeoutMs: 2230 });
  t.match(renderAgents({ ...view, stale: true, staleReason: 'cut off' }, 'table'), /^answered by c1 \(STALE: cut off\); 4 agents\n/);
});

void t.test('get services: plain columns', async (t) => {
  const text = renderResources(
    [{ kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80, 443] }, labels: { team: 'a' }, status: { vip: '241.0.0.7' }, revision: 12 }],
    'table',
  );
  t.strictSame(text.trimEnd().split('\n').map((l) => l.split(/ {2,}/)), [
    ['KIND', 'NAME', 'SPEC', 'LABELS', 'STATUS', 'REVISION'],
    ['service', 'web', 'http 80,443', 'team=a', 'vip 241.0.0.7', '12'],
  ]);
});

void t.test('list agents -o json and -o yaml: an agent\'s NACK error cannot act on a terminal, and parses back whole', async (t) => {
  const evil = 'bad\u202eko\u0085\u009b2J\u007f\u2066 \u001b[2K\nnext';
  const hostile = { ...view, agents: [row('router-0009', { state: 'NACKED', nackedVersion: 58, lastError: evil })] };
  // eslint-disable-next-line no-control-regex
  const unsafe = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
  const json = renderAgents(hostile, 'json');
  t.notOk(unsafe.test(json), 'JSON: no control character or bidirectional override written as it is');
  t.equal((JSON.parse(json) as { lastError: string }[])[0]!.lastError, evil, 'the same string to a parser');
  const yaml = renderAgents(hostile, 'yaml');
  t.notOk(unsafe.test(yaml), 'YAML: none either (YAML counts the overrides as printable)');
  t.equal((YAML.parse(yaml) as { lastError: string }[])[0]!.lastError, evil, 'the same string to a parser');
  t.notMatch(renderAgents(view, 'yaml'), /"id"/, 'ordinary output keeps its plain style');
});
