/** Cluster-wide settings in the cluster file: read with the same codecs as `ctl config set`, refused by key path. */
import t from 'tap';
import { ConfigError, parseClusterConfig } from '../../src/config/load.js';

const NODES = `cluster:
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
    - { id: c2, address: 127.0.0.1:7102 }
    - { id: c3, address: 127.0.0.1:7103 }
`;

function refused(text: string): ConfigError {
  try {
    parseClusterConfig(text, 'cluster.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

void t.test('absent keys take their defaults and nothing counts as written', async (t) => {
  const c = parseClusterConfig(NODES, 'cluster.yaml');
  t.equal(c.settings.values['services.vip_cidr'], '241.0.0.0/8');
  t.equal(c.settings.values['autopilot.last_contact_threshold'], 2_000, '2 x the default election timeout');
  t.same(c.settings.written, []);
});

void t.test('written keys are parsed and remembered as written', async (t) => {
  const c = parseClusterConfig(
    `${NODES}  preferred_leader: c2
raft:
  election_timeout: 3s
services:
  vip_cidr: 10.8.0.0/16
  vip_quarantine: 30m
agents:
  dependency_ttl: 5m
autopilot:
  promote_learners: true
  max_trailing_logs: 100
`,
    'cluster.yaml',
  );
  const v = c.settings.values;
  t.equal(v['cluster.preferred_leader'], 'c2');
  t.equal(v['services.vip_cidr'], '10.8.0.0/16');
  t.equal(v['services.vip_quarantine'], 1_800_000);
  t.equal(v['agents.dependency_ttl'], 300_000);
  t.equal(v['autopilot.promote_learners'], true);
  t.equal(v['autopilot.max_trailing_logs'], 100);
  t.equal(v['autopilot.last_contact_threshold'], 6_000, 'the default follows this file\'s election timeout');
  t.same(
    [...c.settings.written].sort(),
    ['agents.dependency_ttl', 'autopilot.max_trailing_logs', 'autopilot.promote_learners', 'cluster.preferred_leader', 'services.vip_cidr', 'services.vip_quarantine'],
  );
});

void t.test('bad values are refused at their key path with the reason', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['services:\n  vip_cidr: 241.0.0.1/8\n', 'services.vip_cidr', /host bits set/],
    ['services:\n  vip_cidr: 224.0.0.0/4\n', 'services.vip_cidr', /multicast/],
    ['services:\n  vip_quarantine: 10\n', 'services.vip_quarantine', /duration/],
    ['autopilot:\n  promote_learners: yes\n', 'autopilot.promote_learners', /true or false/],
    ['autopilot:\n  min_quorum: -1\n', 'autopilot.min_quorum', /whole number/],
    ['agents:\n  dependency_ttl: 1ms\n', 'agents.dependency_ttl', /at least 1s/],
    ['services:\n  agent_publish: declared\n', 'services.agent_publish', /^is set with `ctl config set services.agent_publish VALUE` \(cluster version 0.12 or later\), not in the file/],
    ['autopilot:\n  cleanup_dead_servers: true\n', 'autopilot.min_quorum', /below a quorum of them \(2\); set min_quorum to at least 2/],
  ];
  for (const [yaml, keyPath, reason] of cases) {
    const err = refused(NODES + yaml);
    t.equal(err.keyPath, keyPath, yaml.trim());
    t.match(err.reason, reason, yaml.trim());
    t.equal(err.exitCode, 2);
  }
  t.equal(refused(`${NODES}services:\n  vip_range: 10.0.0.0/8\n`).keyPath, 'services.vip_range', 'an unknown key is refused');
});

void t.test('cleanup with a min_quorum of at least a quorum is accepted', async (t) => {
  const c = parseClusterConfig(`${NODES}autopilot:\n  cleanup_dead_servers: true\n  min_quorum: 2\n`, 'cluster.yaml');
  t.equal(c.settings.values['autopilot.cleanup_dead_servers'], true);
});

void t.test('a preferred leader that is not one of cluster.nodes is refused, naming the members it could be', async (t) => {
  const err = refused(`${NODES}  preferred_leader: c9\n`);
  t.equal(err.keyPath, 'cluster.preferred_leader');
  t.match(err.reason, /c9 is not one of cluster\.nodes; it could be c1, c2, c3 or none/);
  t.equal(err.exitCode, 2);
  t.match(err.message, /^cluster\.yaml: cluster\.preferred_leader: /, 'the message names the file and the key');
  t.equal(parseClusterConfig(`${NODES}  preferred_leader: none\n`, 'cluster.yaml').settings.values['cluster.preferred_leader'], null, 'none is always possible');
});

void t.test('a last_contact_threshold a healthy follower cannot meet is refused, naming the heartbeat interval', async (t) => {
  for (const threshold of ['1ms', '100ms', '199ms']) {
    const err = refused(`${NODES}autopilot:\n  last_contact_threshold: ${threshold}\n`);
    t.equal(err.keyPath, 'autopilot.last_contact_threshold', threshold);
    t.match(err.reason, /must be at least 2 x raft\.heartbeat_interval \(100ms\) = 200ms/, threshold);
  }
  const slow = refused(`${NODES}raft:\n  heartbeat_interval: 300ms\n  election_timeout: 3s\nautopilot:\n  last_contact_threshold: 500ms\n`);
  t.match(slow.reason, /2 x raft\.heartbeat_interval \(300ms\) = 600ms/, "the floor follows this file's heartbeat interval");
  const c = parseClusterConfig(`${NODES}autopilot:\n  last_contact_threshold: 200ms\n`, 'cluster.yaml');
  t.equal(c.settings.values['autopilot.last_contact_threshold'], 200, 'two heartbeat intervals is accepted');
});

void t.test('a heartbeat interval above the election timeout is refused for itself, not for the threshold it defaults through', async (t) => {
  // The operator wrote raft timing only: the threshold's default (2 x election_timeout) breaks its
  // floor (2 x heartbeat_interval) only because the timing is wrong, so the timing is the cause.
  for (const interval of ['1500ms', '1h']) {
    const err = refused(`${NODES}raft:\n  heartbeat_interval: ${interval}\n  election_timeout: 1s\n`);
    t.equal(err.keyPath, 'raft.election_timeout', interval);
    t.match(err.message, /^cluster\.yaml: raft\.election_timeout: .*\(line 8\)$/, 'named first, with its line');
    t.same(err.problems.filter((p) => p.keyPath.startsWith('autopilot.')), [], 'no problem named at a key the file does not write');
  }
});
