import pino from 'pino';
import t from 'tap';
import YAML from 'yaml';
import { decodeController } from '../../src/api/answers.js';
import type { ControllerStatus } from '../../src/api/controller-rows.js';
import { controllersTable, viewHeader } from '../../src/cli/controllers-table.js';
import { formatBytes, formatDuration } from '../../src/cli/cell-format.js';
import { plainTable } from '../../src/cli/plain-table.js';
import { TERMINAL_SAFE_LOG_HOOKS } from '../../src/cli/printable.js';
import {
  duplicateWarnings,
  formatNumber,
  renderAuditEvent,
  renderControllers,
  renderKv,
  renderStatus,
  staleWarning,
} from '../../src/cli/output.js';
import { threeControllers, wireController } from './fake-controller.js';

const CONTRACT_ORDER = [
  'id',
  'address',
  'online',
  'localState',
  'clusterState',
  'leader',
  'voter',
  'lastContactMs',
  'heartbeatTimeoutMs',
  'rttP50Ms',
  'rttP99Ms',
  'appliedIndex',
  'lagEntries',
  'version',
  'answeredBy',
  'stale',
];

const controllers: readonly ControllerStatus[] = threeControllers().map(decodeController);
const view = { controllers, stale: false, answeredBy: 'c1', staleReason: '', otherClusters: '' };

void t.test('json output is an array of objects with the contract fields in its order, then the added ones', async (t) => {
  // Shuffled input: the order must come from the renderer, not from whoever built the object.
  const shuffled = controllers.map((c) => Object.fromEntries(Object.entries(c).reverse()) as unknown as ControllerStatus);
  const parsed: unknown = JSON.parse(renderControllers({ ...view, controllers: shuffled }, 'json'));
  t.ok(Array.isArray(parsed));
  const rows = parsed as Record<string, unknown>[];
  t.equal(rows.length, 3);
  for (const row of rows) t.strictSame(Object.keys(row), [...CONTRACT_ORDER, 'role', 'duplicateProcess']);
  t.strictSame(rows[2], {
    id: 'c3',
    address: '127.0.0.1:7103',
    online: false,
    localState: 'offline',
    clusterState: 'offline',
    leader: false,
    voter: true,
    lastContactMs: 112,
    heartbeatTimeoutMs: 2230,
    rttP50Ms: 0.4,
    rttP99Ms: 1.9,
    appliedIndex: 4411,
    lagEntries: 17,
    version: '0.1.0',
    answeredBy: 'c1',
    stale: false,
    role: 'follower',
    duplicateProcess: false,
  });
});

void t.test('a member nobody has heard from: unknown, never online, null contact time and version', async (t) => {
  const row = decodeController(wireController('c4', 7104, { online: false, localState: 'unknown', clusterState: 'unknown', lastContactMs: 0, neverHeard: true, version: '' }));
  const parsed = (JSON.parse(renderControllers({ ...view, controllers: [row] }, 'json')) as Record<string, unknown>[])[0];
  t.match(parsed, { id: 'c4', online: false, localState: 'unknown', clusterState: 'unknown', lastContactMs: null, version: null, answeredBy: 'c1', stale: false });
});

void t.test('yaml output holds the same data as json', async (t) => {
  const fromYaml: unknown = YAML.parse(renderControllers(view, 'yaml'));
  const fromJson: unknown = JSON.parse(renderControllers(view, 'json'));
  t.strictSame(fromYaml, fromJson);
});

/** The cells of each line of a plain table, split on runs of two or more spaces. */
function cellsOf(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}

void t.test('the table: a header line naming who answered, then plain columns without borders', async (t) => {
  const text = renderControllers(view, 'table');
  t.notOk(text.includes(String.fromCharCode(27)), 'no colour codes');
  t.notMatch(text, /[│|┌─+]/, 'no borders or row separators');
  const [header, ...table] = text.trimEnd().split('\n');
  t.equal(header, 'answered by c1 (current view)');
  const rows = cellsOf(table.join('\n'));
  t.strictSame(rows[0], ['ID', 'ADDRESS', 'STATUS', 'ROLE', 'LAST-CONTACT', 'LAG', 'VERSION']);
  t.strictSame(rows[1], ['c1', '127.0.0.1:7101', 'online', 'leader', '-', '0', '0.1.0'], 'the answering node has no last contact');
  t.strictSame(rows[2], ['c2', '127.0.0.1:7102', 'online', 'follower', '112ms', '0', '0.1.0'], 'durations as durations');
  t.strictSame(rows[3], ['c3', '127.0.0.1:7103', 'offline', 'follower', '112ms', '17', '0.1.0']);
});

void t.test('-o wide shows every field, durations as durations', async (t) => {
  const rows = cellsOf(renderControllers(view, 'wide')).slice(1);
  t.strictSame(rows[0], ['ID', 'ADDRESS', 'STATUS', 'ROLE', 'LOCAL', 'CLUSTER', 'LAST-CONTACT', 'HB-TIMEOUT', 'RTT-P50', 'RTT-P99', 'APPLIED', 'LAG', 'VERSION']);
  t.strictSame(rows[3], ['c3', '127.0.0.1:7103', 'offline', 'follower', 'offline', 'offline', '112ms', '2.2s', '0.4ms', '1.9ms', '4411', '17', '0.1.0']);
});

void t.test('a stale view says so in the header line', async (t) => {
  t.equal(viewHeader({ answeredBy: 'c3', stale: true, staleReason: 'no contact with a quorum for 4.2s' }), 'answered by c3 (STALE: no contact with a quorum for 4.2s)');
  t.equal(viewHeader({ answeredBy: 'c3', stale: true, staleReason: '' }), 'answered by c3 (STALE: it cannot reach a quorum)');
  t.equal(
    viewHeader({ answeredBy: 'c3', stale: true, staleReason: 'c3 has had no contact with a quorum for 4210ms (election timeout 1000ms)' }),
    'answered by c3 (STALE: no contact with a quorum for 4.2s (election timeout 1s))',
    "the membership engine's reason, shortened",
  );
});

void t.test('five members with 8-character ids fit in 100 columns, also when every cell is at its widest', async (t) => {
  const wideRow = (i: number): ControllerStatus => ({
    ...controllers[1]!,
    id: `ctl-${String(i).padStart(4, '0')}`,
    address: `10.100.200.${100 + i}:65535`,
    online: false,
    role: 'candidate',
    duplicateProcess: true,
    lastContactMs: 1_234_567,
    lagEntries: 123_456_789,
    version: '10.20.30',
  });
  const five = [1, 2, 3, 4, 5].map(wideRow);
  const staleReason = 'ctl-0001 has had no contact with a quorum for 123456ms (election timeout 10000ms)';
  const text = controllersTable({ controllers: five, stale: true, answeredBy: 'ctl-0001', staleReason, otherClusters: '' }, false);
  const widest = Math.max(...text.split('\n').map((l) => l.length));
  t.ok(widest < 100, `the widest line has ${widest} characters`);
  t.equal(text.trimEnd().split('\n').length, 7, 'a header line, the column names and five rows');
});

void t.test('a member two processes speak as: its status is marked, its JSON says so, and a warning names it', async (t) => {
  const [c1, c2, c3] = controllers;
  const marked = { ...view, controllers: [c1!, { ...c2!, duplicateProcess: true }, c3!] };
  const text = controllersTable(marked, false);
  t.match(text, /^c2 +\S+ +online\(dup\) /m, 'the STATUS cell carries the mark');
  t.match(text, /^c3 +\S+ +offline +/m, 'an unmarked member is not');
  const rows = JSON.parse(renderControllers(marked, 'json')) as { id: string; duplicateProcess: boolean }[];
  t.strictSame(rows.map((r) => [r.id, r.duplicateProcess]), [['c1', false], ['c2', true], ['c3', false]]);
  t.strictSame(duplicateWarnings(view), [], 'no warning without a mark');
  const [warning, ...more] = duplicateWarnings(marked);
  t.equal(more.length, 0);
  t.match(warning, /^warning: two processes speak as c2 in c1's view \(DUPLICATE_PROCESS\): .*copy of its data dir/);
  const own = duplicateWarnings({ ...view, controllers: [{ ...c1!, duplicateProcess: true }] });
  t.equal(decodeController(wireController('c2', 7102, { duplicateProcess: true })).duplicateProcess, true, 'decoded from the wire');
  t.equal(c2!.duplicateProcess, false, 'absent from an older server: false');
  t.match(own, [/^warning: peers refuse c1, the answering controller, as DUPLICATE_PROCESS: another process speaks as c1/]);
});

void t.test('durations and sizes in table cells', async (t) => {
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(0.4), '0.4ms');
  t.equal(formatDuration(112), '112ms');
  t.equal(formatDuration(4319.75), '4.3s');
  t.equal(formatDuration(42_000), '42s');
  t.equal(formatDuration(125_000), '2m5s');
  t.equal(formatDuration(3 * 3_600_000 + 600_000), '3h10m');
  t.equal(formatDuration(5 * 86_400_000), '5d');
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(20_480), '20 KiB');
  t.equal(formatBytes(1_572_864), '1.5 MiB');
});

void t.test('numbers in the table keep at most two decimals', async (t) => {
  t.equal(formatNumber(4411), '4411');
  t.equal(formatNumber(0.123456), '0.12');
  t.equal(formatNumber(1.9), '1.9');
});

void t.test('the stale warning names the answering node and the reason', async (t) => {
  const line = staleWarning({ staleReason: 'no contact with c2, c3 for 3s', answeredBy: 'c1' });
  t.equal(line, 'warning: c1 cannot vouch for this view; it may be stale (no contact with c2, c3 for 3s)');
});

void t.test('kv get prints the value, or {key, value, revision} in json', async (t) => {
  const entry = { key: 'k', value: Buffer.from('v'), revision: 12 };
  t.equal(renderKv(entry, 'text'), 'v\n');
  const json = String(renderKv(entry, 'json'));
  t.strictSame(Object.keys(JSON.parse(json) as object), ['key', 'value', 'revision']);
  t.strictSame(JSON.parse(json), { key: 'k', value: 'v', revision: 12 });
});

void t.test('a value that is not UTF-8 is written raw, and as valueBase64 in json', async (t) => {
  const entry = { key: 'bin', value: new Uint8Array([0, 0xff, 0xfe, 10]), revision: 3 };
  t.same(renderKv(entry, 'text'), Buffer.from([0, 0xff, 0xfe, 10]), 'the raw bytes, nothing after them: `kv get > file` copies the value exactly');
  const json = String(renderKv(entry, 'json'));
  t.strictSame(Object.keys(JSON.parse(json) as object), ['key', 'valueBase64', 'revision']);
  t.strictSame(JSON.parse(json), { key: 'bin', valueBase64: 'AP/+Cg==', revision: 3 });
  t.strictSame(JSON.parse(String(renderKv({ key: 'ctl', value: Buffer.from('\u0001\u0002'), revision: 4 }, 'json'))), { key: 'ctl', value: '\u0001\u0002', revision: 4 }, 'control characters are valid UTF-8: value');
});

void t.test('audit json is one object per line with the contract fields in order', async (t) => {
  const e = {
    reason: 'heartbeat timeout 2230ms',
    to: 'offline',
    from: 'online',
    subject: 'c3',
    type: 'member.status',
    node: 'c1',
    time: '2026-11-23T10:00:00.000Z',
  };
  const line = renderAuditEvent(e, 'json');
  t.equal(line.split('\n').length, 2, 'exactly one line');
  t.strictSame(Object.keys(JSON.parse(line) as object), ['time', 'node', 'type', 'subject', 'from', 'to', 'reason']);
  t.equal(
    renderAuditEvent(e, 'text'),
    '2026-11-23T10:00:00.000Z c1 member.status c3 online -> offline (heartbeat timeout 2230ms)\n',
  );
  const clusterVersion = { time: 't', node: 'c1', type: 'cluster.version', subject: '', from: '0.1', to: '0.5', reason: 'every member runs 0.5' };
  t.equal(renderAuditEvent(clusterVersion, 'text'), 't c1 cluster.version - 0.1 -> 0.5 (every member runs 0.5)\n', 'no subject: `-`, one space apart');
  t.match(JSON.parse(renderAuditEvent(clusterVersion, 'json')), { subject: '' }, 'JSON as before');
});

void t.test('status renders as aligned lines or as json', async (t) => {
  const s = {
    id: 'c1',
    cluster: 'local',
    role: 'leader',
    term: 3,
    leader: 'c1',
    commitIndex: 10,
    appliedIndex: 10,
    lastIndex: 11,
    firstIndex: 1,
    snapshotIndex: 0,
    voters: ['c1', 'c2', 'c3'],
    learners: [],
    version: '0.1.0',
    clusterId: '00000000000000aa',
    commitStallMs: 0,
    commitStalled: false,
    stale: false,
    staleReason: '',
    clusterVersion: '0.2',
  };
  t.strictSame(JSON.parse(renderStatus(s, 'json')), s);
  t.same(Object.keys(JSON.parse(renderStatus(s, 'json')) as object).slice(-3), ['stale', 'staleReason', 'clusterVersion'], 'the new field comes after the contract\'s');
  const text = renderStatus(s, 'text');
  t.match(text, /^term: +3$/m);
  t.match(text, /^voters: +c1, c2, c3$/m);
  t.match(text, /^learners: +-$/m);
  t.match(text, /^clusterVersion: +0\.2$/m);
  t.match(renderStatus({ ...s, clusterVersion: null }, 'text'), /^clusterVersion: +-$/m, 'a server that predates it shows -');
  t.equal((JSON.parse(renderStatus({ ...s, clusterVersion: null }, 'json')) as { clusterVersion: unknown }).clusterVersion, null, 'and null in JSON');
});

void t.test('text from outside stays on its line: control characters in a table cell or an audit reason are escaped', async (t) => {
  const evil = 'bad\nedge-9  online  c1  SYNCED\x1b[1A\x1b[2K\u202eok';
  const table = plainTable(['ID', 'LAST-ERROR'], [['edge-1', evil]]);
  t.equal(table.split('\n').length, 3, 'a header and one row');
  t.match(table, /edge-1 {2}bad\\nedge-9 {2}online {2}c1 {2}SYNCED\\u001b\[1A\\u001b\[2K\\u202eok/);
  const line = renderAuditEvent({ time: 't', node: 'c1', type: 'agent.nack', subject: 'edge-1', from: '1', to: '2', reason: evil }, 'text');
  t.equal(line.split('\n').length, 2, 'one line');
  t.notOk(line.includes('\u001b'), 'no escape character');
  const json = renderAuditEvent({ time: 't', node: 'c1', type: 'agent.nack', subject: 'edge-1', from: '1', to: '2', reason: `${evil}\u0085\u009b2J\u007f\u2066` }, 'json');
  t.match(JSON.parse(json), { reason: `${evil}\u0085\u009b2J\u007f\u2066` }, 'JSON keeps the text as it is, to a parser');
  t.notOk(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(json), 'written with no C1 control, DEL or bidirectional override as such (JSON.stringify escapes C0 only)');
  t.match(json, /\\u202eok\\u0085\\u009b2J\\u007f\\u2066/, 'each as its \\u escape');
});

void t.test("the binaries' JSON log lines escape the C1 controls, DEL and the bidirectional overrides too: the same values to a parser", async (t) => {
  const lines: string[] = [];
  const sink = { write: (s: string): void => void lines.push(s) };
  const logger = pino({ base: null, timestamp: false, hooks: TERMINAL_SAFE_LOG_HOOKS }, sink);
  const evil = 'nack\u202eko\u0085\u009b2J\u007f\u2066';
  logger.warn({ agent: 'edge-1', error: evil }, `agent NACKed: ${evil}`);
  t.equal(lines.length, 1);
  t.notOk(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(lines[0]!), 'none written as it is');
  t.match(JSON.parse(lines[0]!), { agent: 'edge-1', error: evil, msg: `agent NACKed: ${evil}` });
});
