import t from 'tap';
import YAML from 'yaml';
import { decodeController } from '../../src/api/answers.js';
import type { ControllerStatus } from '../../src/api/controller-rows.js';
import {
  controllersTable,
  formatNumber,
  renderAuditEvent,
  renderControllers,
  renderKv,
  renderStatus,
  staleWarning,
} from '../../src/cli/output.js';
import { threeControllers } from './fake-controller.js';

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
];

const controllers: readonly ControllerStatus[] = threeControllers().map(decodeController);

void t.test('json output is an array of objects with exactly the contract fields in its order', async (t) => {
  // Shuffled input: the order must come from the renderer, not from whoever built the object.
  const shuffled = controllers.map((c) => Object.fromEntries(Object.entries(c).reverse()) as unknown as ControllerStatus);
  const parsed: unknown = JSON.parse(renderControllers(shuffled, 'json'));
  t.ok(Array.isArray(parsed));
  const rows = parsed as Record<string, unknown>[];
  t.equal(rows.length, 3);
  for (const row of rows) t.strictSame(Object.keys(row), CONTRACT_ORDER);
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
  });
});

void t.test('yaml output holds the same data as json', async (t) => {
  const fromYaml: unknown = YAML.parse(renderControllers(controllers, 'yaml'));
  const fromJson: unknown = JSON.parse(renderControllers(controllers, 'json'));
  t.strictSame(fromYaml, fromJson);
});

void t.test('the table has the contract columns in order and prints online as yes/no', async (t) => {
  const text = controllersTable(controllers);
  t.notOk(text.includes(String.fromCharCode(27)), 'no colour codes');
  const lines = text.split('\n').filter((l) => l.includes('│') || l.includes('|'));
  const cells = (line: string): string[] =>
    line
      .split(/[│|]/)
      .map((c) => c.trim())
      .filter((c) => c !== '');
  t.strictSame(cells(lines[0] ?? ''), CONTRACT_ORDER);
  const c1 = cells(lines.find((l) => cells(l)[0] === 'c1') ?? '');
  const c3 = cells(lines.find((l) => cells(l)[0] === 'c3') ?? '');
  t.equal(c1[CONTRACT_ORDER.indexOf('online')], 'yes');
  t.equal(c3[CONTRACT_ORDER.indexOf('online')], 'no');
  t.equal(c1[CONTRACT_ORDER.indexOf('leader')], 'true');
  t.equal(c3[CONTRACT_ORDER.indexOf('rttP50Ms')], '0.4');
  t.equal(c3[CONTRACT_ORDER.indexOf('lagEntries')], '17');
});

void t.test('numbers in the table keep at most two decimals', async (t) => {
  t.equal(formatNumber(4411), '4411');
  t.equal(formatNumber(0.123456), '0.12');
  t.equal(formatNumber(1.9), '1.9');
});

void t.test('the stale warning names the answering node and the reason', async (t) => {
  const line = staleWarning({ controllers, stale: true, staleReason: 'no contact with c2, c3 for 3s', answeredBy: 'c1' });
  t.equal(line, 'warning: c1 cannot reach a quorum; this view may be stale (no contact with c2, c3 for 3s)');
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
  t.same(renderKv(entry, 'text'), Buffer.from([0, 0xff, 0xfe, 10, 10]), 'the raw bytes, then a newline');
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
  };
  t.strictSame(JSON.parse(renderStatus(s, 'json')), s);
  const text = renderStatus(s, 'text');
  t.match(text, /^term: +3$/m);
  t.match(text, /^voters: +c1, c2, c3$/m);
  t.match(text, /^learners: +-$/m);
});
