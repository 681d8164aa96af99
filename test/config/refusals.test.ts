import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ConfigError, loadClusterConfig, loadNodeConfig, parseClusterConfig } from '../../src/config/load.js';

const NODES = `cluster:
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
    - { id: c2, address: 127.0.0.1:7102 }
`;

/** The error parseClusterConfig throws for `text`; fails the test when it does not throw one. */
function refusal(t: Test, text: string): ConfigError {
  try {
    parseClusterConfig(text, 'cluster.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  t.fail('expected a ConfigError');
  throw new Error('not refused');
}

function expectRefusal(t: Test, text: string, keyPath: string, reason: RegExp): void {
  const err = refusal(t, text);
  t.equal(err.keyPath, keyPath, 'keyPath');
  t.match(err.reason, reason, 'reason');
  t.equal(err.code, 'CONFIG_INVALID');
  t.equal(err.exitCode, 2);
  t.equal(err.file, 'cluster.yaml');
  t.ok(err.message.startsWith(`cluster.yaml: ${keyPath}: ${err.reason}`), 'message is <file>: <keyPath>: <reason>');
  t.notMatch(err.message, /\n/, 'message is one line');
}

void t.test('a missing file is refused as a config error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'nope.yaml');
  t.throws(() => loadClusterConfig(file), { code: 'CONFIG_INVALID', exitCode: 2, keyPath: '(file)', file, reason: /no such file/ });
  t.throws(() => loadClusterConfig(dir), { code: 'CONFIG_INVALID', keyPath: '(file)', reason: /directory/ });
});

void t.test('a file saved as UTF-16, or holding NUL bytes, is refused naming its encoding, not echoed as a string', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const text = `${NODES}`;
  const write = (name: string, bytes: Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const le = write('le.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  t.throws(() => loadClusterConfig(le), { code: 'CONFIG_INVALID', keyPath: '(file)', reason: 'cannot read the config file: it is UTF-16 text (it starts with the byte-order mark FF FE): save it as UTF-8' });
  const be = write('be.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]));
  t.throws(() => loadClusterConfig(be), { code: 'CONFIG_INVALID', reason: /UTF-16 text \(it starts with the byte-order mark FE FF\)/ });
  const bare = write('bare.yaml', Buffer.from(text, 'utf16le'));
  t.throws(() => loadClusterConfig(bare), { code: 'CONFIG_INVALID', reason: 'cannot read the config file: it holds a NUL byte at offset 1: not a text file (UTF-16 without a byte-order mark, or binary?); save it as UTF-8 text' });
  const err = t.throws(() => loadClusterConfig(le)) as ConfigError;
  t.ok(err.message.length < 300, `one short line: ${err.message.length} characters`);
  const bom8 = write('bom8.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
  t.doesNotThrow(() => loadClusterConfig(bom8), "UTF-8's byte-order mark is still read");
});

void t.test('invalid YAML is refused with its line number', async (t) => {
  const err = refusal(t, `${NODES}raft:\n  heartbeat_interval: [100ms\n`);
  t.equal(err.keyPath, '(yaml)');
  t.match(err.reason, /^invalid YAML: /);
  t.type(err.line, 'number');
  t.match(err.message, /\(line \d+\)$/);
  const dup = refusal(t, `${NODES}raft:\n  election_timeout: 1s\n  election_timeout: 2s\n`);
  t.equal(dup.keyPath, '(yaml)');
  t.equal(dup.line, 7, 'a duplicate YAML key is reported where it repeats');
  t.equal(refusal(t, '').keyPath, '(root)', 'an empty file is refused');
  t.match(refusal(t, '- a\n- b\n').reason, /expected a mapping, found a list/);
});

void t.test('cluster.nodes is required and not empty', async (t) => {
  expectRefusal(t, 'cluster:\n  name: x\n', 'cluster.nodes', /required key is missing/);
  expectRefusal(t, 'cluster:\n  nodes: []\n', 'cluster.nodes', /at least one node/);
  expectRefusal(t, 'raft: {}\n', 'cluster', /required key is missing/);
});

void t.test('duplicate node ids are refused at the second one', async (t) => {
  expectRefusal(t, `${NODES}    - { id: c1, address: 127.0.0.1:7103 }\n`, 'cluster.nodes[2].id', /duplicate node id "c1" \(also cluster\.nodes\[0\]\.id\)/);
});

void t.test('duplicate addresses and listen addresses are refused', async (t) => {
  expectRefusal(t, `${NODES}    - { id: c3, address: 127.0.0.1:7102 }\n`, 'cluster.nodes[2].address', /duplicate address 127\.0\.0\.1:7102/);
  expectRefusal(t, `${NODES}    - { id: c3, address: "localhost:7102" }\n`, 'cluster.nodes[2].address', /duplicate address localhost:7102 \(also cluster\.nodes\[1\]\.address\)/);
  const dupAddress = refusal(t, `${NODES}    - { id: c3, address: 127.0.0.1:7102 }\n`);
  t.equal(dupAddress.problems.length, 1, 'a duplicate address is not reported again as a duplicate listen');
  expectRefusal(
    t,
    `${NODES}    - { id: c3, address: 10.1.1.1:7101, listen: 127.0.0.1:7101 }\n`,
    'cluster.nodes[2].listen',
    /listen address 127\.0\.0\.1:7101 is already bound by cluster\.nodes\[0\]\.address \(listen defaults to address\)/,
  );
  expectRefusal(
    t,
    `cluster:\n  nodes:\n    - { id: a, address: 'h1:1', listen: '10.0.0.1:7101' }\n    - { id: b, address: 'h2:1', listen: '10.0.0.1:7101' }\n`,
    'cluster.nodes[1].listen',
    /already bound by cluster\.nodes\[0\]\.listen/,
  );
  expectRefusal(
    t,
    `cluster:\n  nodes:\n    - { id: a, address: 'h1:1', listen: '0.0.0.0:7101', metrics: '127.0.0.1:7101' }\n`,
    'cluster.nodes[0].metrics',
    /metrics address 127\.0\.0\.1:7101 is already bound by cluster\.nodes\[0\]\.listen/,
  );
  t.doesNotThrow(
    () => parseClusterConfig(`cluster:\n  nodes:\n    - { id: a, address: 'h1:1', listen: '0.0.0.0:1' }\n    - { id: b, address: 'h2:1', listen: '0.0.0.0:1' }\n`, 'f'),
    'the same wildcard listen on different hosts is fine',
  );
  expectRefusal(t, `cluster:\n  nodes:\n    - { id: a, address: '0.0.0.0:7101' }\n`, 'cluster.nodes[0].address', /wildcard address that peers cannot dial/);
});

void t.test('malformed host:port is refused', async (t) => {
  const bad = ['127.0.0.1', '127.0.0.1:', ':7101', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:71o1', '300.0.0.1:7101', '::1:7101', '[::1:7101', 'bad_host:7101', '-x.com:1', 'a..b:1'];
  for (const address of bad) {
    expectRefusal(t, `cluster:\n  nodes:\n    - { id: a, address: '${address}' }\n`, 'cluster.nodes[0].address', /expected host:port/);
  }
  expectRefusal(t, `cluster:\n  nodes:\n    - { id: a, address: 'h:1', metrics: 'h' }\n`, 'cluster.nodes[0].metrics', /expected host:port.*no port/);
  expectRefusal(t, `cluster:\n  nodes:\n    - { id: a, address: 7101 }\n`, 'cluster.nodes[0].address', /expected a string, found the number 7101/);
  for (const ok of ['localhost:1', 'node-1.example.com:65535', '[::1]:7101', '[fe80::1]:80', '10.0.0.1:7101']) {
    t.doesNotThrow(() => parseClusterConfig(`cluster:\n  nodes:\n    - { id: a, address: '${ok}' }\n`, 'f'), ok);
  }
});

void t.test('node ids must match the id pattern', async (t) => {
  for (const id of ['-c1', '_c1', '.c1', 'c 1', 'c/1', 'c1!', 'x'.repeat(64), '""']) {
    expectRefusal(t, `cluster:\n  nodes:\n    - { id: '${id}', address: 'h:1' }\n`, 'cluster.nodes[0].id', /expected an id of 1-63/);
  }
  expectRefusal(t, `cluster:\n  nodes:\n    - { id: 1, address: 'h:1' }\n`, 'cluster.nodes[0].id', /expected a string, found the number 1/);
  t.doesNotThrow(() => parseClusterConfig(`cluster:\n  nodes:\n    - { id: '${'x'.repeat(63)}', address: 'h:1' }\n`, 'f'), '63 characters is fine');
});

void t.test('an --id not in cluster.nodes names the id and the known ids', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, NODES);
  t.throws(() => loadNodeConfig(file, 'c9'), {
    code: 'CONFIG_INVALID',
    exitCode: 2,
    file,
    keyPath: 'cluster.nodes',
    reason: /"c9".*c1, c2/,
  });
});

void t.test('election_timeout under 5 x heartbeat_interval is refused', async (t) => {
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 100ms\n  election_timeout: 400ms\n`, 'raft.election_timeout', /at least 5 x heartbeat_interval \(100ms\) = 500ms/);
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 300ms\n`, 'raft.election_timeout', /1s \(default\) must be at least/);
  t.doesNotThrow(() => parseClusterConfig(`${NODES}raft:\n  heartbeat_interval: 100ms\n  election_timeout: 500ms\n`, 'f'), 'exactly 5x is fine');
});

void t.test('an election timeout above a minute is refused: a failover that slow is a typo, not a choice', async (t) => {
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 100ms\n  election_timeout: 10m\n`, 'raft.election_timeout', /^election_timeout 10m is above the ceiling of 1m: a crashed leader would go unreplaced, and writes refused, for 10m or more/);
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 100m\n  election_timeout: 24h\n`, 'raft.election_timeout', /above the ceiling of 1m/);
  t.doesNotThrow(() => parseClusterConfig(`${NODES}raft:\n  heartbeat_interval: 1s\n  election_timeout: 1m\n`, 'cluster.yaml'), 'a minute exactly starts');
});

void t.test('Raft timings below their floors are refused, naming the value, the floor and why', async (t) => {
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 9ms\n  election_timeout: 1s\n`, 'raft.heartbeat_interval', /^heartbeat_interval 9ms is below the floor of 10ms: Raft ticks/);
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 10ms\n  election_timeout: 99ms\n`, 'raft.election_timeout', /^election_timeout 99ms is below the floor of 100ms: a garbage collection/);
  // The careless operator's file: both keys are named, the first in file order.
  const absurd = refusal(t, `${NODES}controller:\n  heartbeat:\n    base_timeout: 100ms\nraft:\n  heartbeat_interval: 1ms\n  election_timeout: 5ms\n`);
  t.equal(absurd.keyPath, 'raft.heartbeat_interval');
  t.same(
    absurd.problems.map((p) => p.keyPath),
    ['raft.heartbeat_interval', 'raft.election_timeout'],
    'every timing below its floor is reported',
  );
  t.match(absurd.problems[1]?.reason, /^election_timeout 5ms is below the floor of 100ms/);
  t.doesNotThrow(() => parseClusterConfig(`${NODES}raft:\n  heartbeat_interval: 10ms\n  election_timeout: 100ms\n`, 'f'), 'exactly the floors is fine');
});

void t.test('zero, negative and unit-less durations are refused', async (t) => {
  expectRefusal(t, `${NODES}raft:\n  heartbeat_interval: 0ms\n`, 'raft.heartbeat_interval', /positive duration/);
  expectRefusal(t, `${NODES}raft:\n  election_timeout: -1s\n`, 'raft.election_timeout', /negative/);
  expectRefusal(t, `${NODES}controller:\n  heartbeat:\n    base_timeout: 0s\n`, 'controller.heartbeat.base_timeout', /positive duration/);
  expectRefusal(t, `${NODES}controller:\n  state_sync_interval: 5\n`, 'controller.state_sync_interval', /unit.*found the number 5/);
  expectRefusal(t, `${NODES}controller:\n  audit:\n    max_age: forever\n`, 'controller.audit.max_age', /invalid duration "forever"/);
  expectRefusal(t, `${NODES}raft:\n  election_timeout: 30d\n`, 'raft.election_timeout', /unknown unit "d"/);
  expectRefusal(t, `${NODES}raft:\n  election_timeout: 600h\n`, 'raft.election_timeout', /at most 2147483647ms/);
  expectRefusal(t, `${NODES}raft:\n  election_timeout: true\n`, 'raft.election_timeout', /found the boolean true/);
});

void t.test('snapshot_threshold under 10 and other out-of-range numbers are refused', async (t) => {
  expectRefusal(t, `${NODES}raft:\n  snapshot_threshold: 9\n`, 'raft.snapshot_threshold', /at least 10, found the number 9/);
  expectRefusal(t, `${NODES}raft:\n  snapshot_threshold: 10.5\n`, 'raft.snapshot_threshold', /whole number/);
  expectRefusal(t, `${NODES}raft:\n  snapshot_threshold: 1e20\n`, 'raft.snapshot_threshold', /expected at most 9007199254740991, found the number 100000000000000000000/);
  expectRefusal(t, `${NODES}raft:\n  max_message_bytes: 1e12\n`, 'raft.max_message_bytes', /expected at most 2147483647/);
  expectRefusal(t, `${NODES}raft:\n  max_uncommitted_bytes: 65536\n`, 'raft.max_uncommitted_bytes', /at least 1048576, found the number 65536/);
  expectRefusal(t, `${NODES}raft:\n  snapshot_threshold: '100'\n`, 'raft.snapshot_threshold', /expected a number, found the string "100"/);
  expectRefusal(t, `${NODES}raft:\n  snapshot_threshold_bytes: 65536\n`, 'raft.snapshot_threshold_bytes', /at least 1048576, found the number 65536/);
  expectRefusal(t, `${NODES}raft:\n  max_inflight: 0\n`, 'raft.max_inflight', /at least 1/);
  expectRefusal(t, `${NODES}controller:\n  heartbeat:\n    rtt_window: 0\n`, 'controller.heartbeat.rtt_window', /at least 1/);
  expectRefusal(t, `${NODES}controller:\n  audit:\n    max_events: -5\n`, 'controller.audit.max_events', /at least 1/);
  expectRefusal(t, `${NODES}controller:\n  log_level: loud\n`, 'controller.log_level', /one of trace, debug, info/);
  expectRefusal(t, `${NODES}controller:\n  heartbeat:\n    dynamic_adjustment: yes\n`, 'controller.heartbeat.dynamic_adjustment', /true or false, found the string "yes"/);
  expectRefusal(t, `${NODES}raft:\n  initial_election_advance: yes\n`, 'raft.initial_election_advance', /true or false, found the string "yes"/);
  expectRefusal(t, `${NODES}controller:\n  agent_reconnect_timeout: 500ms\n`, 'controller.agent_reconnect_timeout', /must be at least 1s, found 500ms/);
  expectRefusal(t, `${NODES}controller:\n  agent_reconnect_timeout: 72\n`, 'controller.agent_reconnect_timeout', /expected a duration with a unit/);
});

void t.test('base_timeout under 2 x heartbeat interval is refused', async (t) => {
  expectRefusal(
    t,
    `${NODES}controller:\n  heartbeat:\n    base_timeout: 1s\n    interval: 600ms\n`,
    'controller.heartbeat.interval',
    /base_timeout 1s must be at least 2 x heartbeat interval 600ms/,
  );
  expectRefusal(
    t,
    `${NODES}controller:\n  heartbeat:\n    base_timeout: 80ms\n`,
    'controller.heartbeat.base_timeout',
    /heartbeat interval 50ms \(default: base_timeout\/4 within 50ms\.\.500ms\)/,
  );
  expectRefusal(t, `${NODES}controller:\n  heartbeat:\n    min_timeout: 100ms\n`, 'controller.heartbeat.min_timeout', /min_timeout 100ms must be at least 2 x heartbeat interval 500ms/);
});

void t.test('min_timeout above max_timeout is refused', async (t) => {
  expectRefusal(t, `${NODES}controller:\n  heartbeat:\n    min_timeout: 5s\n    max_timeout: 3s\n`, 'controller.heartbeat.min_timeout', /min_timeout 5s exceeds max_timeout 3s/);
  expectRefusal(
    t,
    `${NODES}controller:\n  heartbeat:\n    max_timeout: 1s\n`,
    'controller.heartbeat.max_timeout',
    /min_timeout 2s \(default: base_timeout\) exceeds max_timeout 1s/,
  );
});

void t.test('state_sync_interval in both places is refused as ambiguous', async (t) => {
  expectRefusal(
    t,
    `${NODES}controller:\n  heartbeat:\n    state_sync_interval: 5s\n  state_sync_interval: 5s\n`,
    'controller.state_sync_interval',
    /ambiguous/,
  );
});

void t.test('data_dir accepts only the ${id} placeholder', async (t) => {
  expectRefusal(t, `${NODES}controller:\n  data_dir: ./data/\${host}\n`, 'controller.data_dir', /unknown placeholder \$\{host\}/);
  expectRefusal(t, `${NODES}controller:\n  data_dir: ''\n`, 'controller.data_dir', /empty/);
});

void t.test("attack round 10: a data_dir written for a shell ('~', $HOME) is refused, not taken literally", async (t) => {
  expectRefusal(t, `${NODES}controller:\n  data_dir: ~/controller/\${id}\n`, 'controller.data_dir', /"~" is not expanded: no shell reads this file/);
  expectRefusal(t, `${NODES}controller:\n  data_dir: '~'\n`, 'controller.data_dir', /"~" is not expanded/);
  expectRefusal(t, `${NODES}controller:\n  data_dir: $HOME/controller\n`, 'controller.data_dir', /"\$H" is not expanded/);
  for (const fine of ['/var/lib/controller/${id}', './data/~backup', 'data/a$', '/srv/x~y/${id}']) {
    t.doesNotThrow(() => parseClusterConfig(`${NODES}controller:\n  data_dir: '${fine}'\n`, 'cluster.yaml'), `${fine} is taken`);
  }
});

void t.test('tls needs all of ca, cert and key', async (t) => {
  expectRefusal(t, `${NODES}tls:\n  ca: ca.pem\n  cert: c.pem\n`, 'tls.key', /required key is missing/);
});

void t.test('all problems are collected in file order, the first one in the message', async (t) => {
  const err = refusal(t, `cluster:\n  nodes:\n    - { id: c1, address: nope }\nraft:\n  snapshot_threshold: 1\n  bogus: 1\n`);
  t.same(
    err.problems.map((p) => [p.keyPath, p.line]),
    [
      ['cluster.nodes[0].address', 3],
      ['raft.snapshot_threshold', 5],
      ['raft.bogus', 6],
    ],
  );
  t.equal(err.keyPath, 'cluster.nodes[0].address');
  t.equal(err.line, 3);
  t.equal(err.describeAll().split('\n').length, 3);
});

void t.test('loading writes nothing, data_dir included', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, `${NODES}controller:\n  data_dir: ${dir}/data/\${id}\n`);
  const node = loadNodeConfig(file, 'c1');
  t.equal(node.dataDir, path.join(dir, 'data', 'c1'));
  t.same(fs.readdirSync(dir), ['c.yaml'], 'data_dir was not created');
  fs.writeFileSync(file, `${NODES}controller:\n  data_dir: ${dir}/data/\${id}\nraft:\n  snapshot_threshold: 1\n`);
  t.throws(() => loadNodeConfig(file, 'c1'), { code: 'CONFIG_INVALID' });
  t.same(fs.readdirSync(dir), ['c.yaml'], 'nothing written on refusal either');
});

void t.test('a file with several YAML documents or an empty tls path is refused', async (t) => {
  expectRefusal(t, `${NODES}---\n${NODES}`, '(yaml)', /expected one document, found several/);
  expectRefusal(t, `${NODES}tls: { ca: '', cert: c, key: k }\n`, 'tls.ca', /expected a file path, found an empty string/);
});

void t.test('a peer message limit that could not carry the largest entry is refused', async (t) => {
  expectRefusal(
    t,
    `${NODES}raft:\n  max_message_bytes: 1048576\n`,
    'raft.max_message_bytes',
    /expected at least 1179648 \(the largest entry, a 1 MiB value with its key, plus framing\), found the number 1048576/,
  );
});

void t.test('tls.client_ca, tls.agent_ca and tls.crl must be paths and tls.metrics a boolean', async (t) => {
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, crl: '' }\n`, 'tls.crl', /expected a file path, found an empty string/);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, client_ca: '' }\n`, 'tls.client_ca', /expected a file path, found an empty string/);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, agent_ca: 7 }\n`, 'tls.agent_ca', /expected a string, found the number 7/);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, metrics: 'yes' }\n`, 'tls.metrics', /expected true or false, found the string "yes"/);
});

void t.test('tls.metrics_client_ca needs /metrics over HTTPS', async (t) => {
  const needs = /asks scrapers for a certificate over HTTPS, so it needs tls\.metrics: true/;
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, metrics_client_ca: s.pem }\n`, 'tls.metrics_client_ca', needs);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, metrics: false, metrics_client_ca: s.pem }\n`, 'tls.metrics_client_ca', needs);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, metrics: true, metrics_client_ca: '' }\n`, 'tls.metrics_client_ca', /expected a file path, found an empty string/);
});

void t.test('tls paths accept only the ${id} placeholder', async (t) => {
  expectRefusal(t, `${NODES}tls: { ca: a, cert: '/tls/\${host}.crt', key: k }\n`, 'tls.cert', /unknown placeholder \$\{host\}/);
  expectRefusal(t, `${NODES}tls: { ca: a, cert: c, key: k, crl: '/tls/\${host}.crl' }\n`, 'tls.crl', /unknown placeholder \$\{host\}/);
});

void t.test('controller.quota_bytes is bounded: a snapshot is one JSON text, which ends at 512 MiB', async (t) => {
  expectRefusal(t, `${NODES}controller:\n  quota_bytes: 1000\n`, 'controller.quota_bytes', /expected at least 1048576, found the number 1000/);
  expectRefusal(t, `${NODES}controller:\n  quota_bytes: 1073741824\n`, 'controller.quota_bytes', /expected at most 402653184, found the number 1073741824/);
});

void t.test('the gRPC port caps: positive integers, read when given', async (t) => {
  expectRefusal(t, `${NODES}controller:\n  max_connections: 0\n`, 'controller.max_connections', /expected at least 16, found the number 0/);
  expectRefusal(t, `${NODES}controller:\n  max_connections: 1\n`, 'controller.max_connections', /expected at least 16, found the number 1/);
  expectRefusal(t, `${NODES}controller:\n  audit:\n    max_age: 1ms\n`, 'controller.audit.max_age', /expected at least 1m, found "1ms": the trail would drop every event/);
  expectRefusal(t, `${NODES}controller:\n  max_pending_handshakes: 1.5\n`, 'controller.max_pending_handshakes', /expected an integer|found the number 1.5/);
  expectRefusal(t, `${NODES}controller:\n  max_streams_per_connection: 8\n`, 'controller.max_streams_per_connection', /expected at least 16|found the number 8/);
  const c = parseClusterConfig(`${NODES}controller:\n  max_connections: 100000\n  max_pending_handshakes: 4096\n  max_streams_per_connection: 100\n`, '/x.yaml');
  t.equal(c.maxConnections, 100_000);
  t.equal(c.maxPendingHandshakes, 4096);
  t.equal(c.maxStreamsPerConnection, 100);
});
