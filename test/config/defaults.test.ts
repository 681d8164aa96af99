import path from 'node:path';
import t from 'tap';
import { nodeConfigFor, parseClusterConfig } from '../../src/config/load.js';

const MINIMAL = `
cluster:
  nodes:
    - { id: a, address: 127.0.0.1:7201 }
`;

void t.test('a file with only cluster.nodes gets every default', async (t) => {
  const c = parseClusterConfig(MINIMAL, '/etc/ctl/cluster.yaml');
  t.same(c, {
    file: '/etc/ctl/cluster.yaml',
    clusterName: 'default',
    nodes: [{ id: 'a', address: '127.0.0.1:7201', listen: '127.0.0.1:7201', metrics: null }],
    dataDirTemplate: './data/${id}',
    heartbeat: { baseTimeoutMs: 2_000, dynamicAdjustment: true, rttWindow: 16, minTimeoutMs: 2_000, maxTimeoutMs: 8_000, intervalMs: 500 },
    stateSyncIntervalMs: 5_000,
    auditRetention: { maxEvents: 100_000, maxAgeMs: 7 * 24 * 3_600_000 },
    resourcesCacheTtlMs: 24 * 3_600_000,
    agentReconnectTimeoutMs: 72 * 3_600_000,
    quotaBytes: 256 * 1024 * 1024,
    minFreeDiskBytes: 64 * 1024 * 1024,
    maxMeshBytes: 16 * 1024 * 1024,
    maxConnections: 60_000,
    maxPendingHandshakes: 1_024,
    maxStreamsPerConnection: 1_024,
    raft: { heartbeatIntervalMs: 100, electionTimeoutMs: 1_000, snapshotThreshold: 10_000, snapshotThresholdBytes: 16 * 1024 * 1024, trailingLogs: 5_000, maxInflight: 256, maxMessageBytes: 4 * 1024 * 1024, maxUncommittedBytes: 32 * 1024 * 1024, initialElectionAdvance: true },
    tls: null,
    logLevel: 'info',
    settings: {
      values: {
        'services.vip_cidr': '241.0.0.0/8',
        'services.vip_quarantine': 3_600_000,
        'services.agent_publish': 'open',
        'agents.dependency_ttl': 600_000,
        'cluster.preferred_leader': null,
        'autopilot.last_contact_threshold': 2_000,
        'autopilot.max_trailing_logs': 250,
        'autopilot.server_stabilization_time': 10_000,
        'autopilot.promote_learners': false,
        'autopilot.cleanup_dead_servers': false,
        'autopilot.dead_server_threshold': 86_400_000,
        'autopilot.min_quorum': 0,
      },
      written: [],
    },
  });
});

void t.test('derived defaults follow the keys they derive from', async (t) => {
  const withBase = (base: string): ReturnType<typeof parseClusterConfig> =>
    parseClusterConfig(`${MINIMAL}controller:\n  heartbeat:\n    base_timeout: ${base}\n`, 'f.yaml');
  const slow = withBase('10s').heartbeat;
  t.same([slow.minTimeoutMs, slow.maxTimeoutMs, slow.intervalMs], [10_000, 40_000, 500], 'interval clamps at 500ms');
  const fast = withBase('200ms').heartbeat;
  t.same([fast.minTimeoutMs, fast.maxTimeoutMs, fast.intervalMs], [200, 800, 50], 'interval clamps at 50ms');
  t.equal(withBase('1s').heartbeat.intervalMs, 250, 'base/4 in between');
  const small = parseClusterConfig(`${MINIMAL}raft:\n  snapshot_threshold: 300\n`, 'f.yaml');
  t.equal(small.raft.trailingLogs, 300, 'trailing_logs defaults to min(5000, threshold)');
});

void t.test('written values override defaults and relative tls paths follow the YAML file', async (t) => {
  const c = parseClusterConfig(
    `${MINIMAL}controller:
  log_level: debug
  audit: { max_events: 50, max_age: 1h }
  agent_reconnect_timeout: 8h
  heartbeat: { rtt_window: 4, min_timeout: 1s, max_timeout: 3s, interval: 100ms, dynamic_adjustment: false }
raft: { trailing_logs: 0, max_inflight: 8, max_message_bytes: 2097152, snapshot_threshold_bytes: 8388608, initial_election_advance: false }
tls: { ca: tls/ca.pem, cert: ./tls/node.pem, key: /abs/node.key, client_ca: clients.pem, agent_ca: agents.pem, metrics: true, metrics_client_ca: scrapers.pem, crl: tls/revoked.crl }
`,
    '/etc/ctl/cluster.yaml',
  );
  t.equal(c.logLevel, 'debug');
  t.same(c.auditRetention, { maxEvents: 50, maxAgeMs: 3_600_000 });
  t.equal(c.agentReconnectTimeoutMs, 8 * 3_600_000);
  t.same(c.heartbeat, { baseTimeoutMs: 2_000, dynamicAdjustment: false, rttWindow: 4, minTimeoutMs: 1_000, maxTimeoutMs: 3_000, intervalMs: 100 });
  t.same([c.raft.trailingLogs, c.raft.maxInflight, c.raft.maxMessageBytes, c.raft.snapshotThresholdBytes, c.raft.initialElectionAdvance], [0, 8, 2_097_152, 8 * 1024 * 1024, false]);
  t.equal(c.raft.maxUncommittedBytes, 8 * 2_097_152, 'raft.max_uncommitted_bytes follows raft.max_message_bytes when not written');
  const written = parseClusterConfig(`${MINIMAL}raft: { max_uncommitted_bytes: 5000000 }\n`, '/etc/ctl/cluster.yaml');
  t.equal(written.raft.maxUncommittedBytes, 5_000_000, 'raft.max_uncommitted_bytes as written');
  t.same(c.tls, { ca: '/etc/ctl/tls/ca.pem', cert: '/etc/ctl/tls/node.pem', key: '/abs/node.key', clientCa: '/etc/ctl/clients.pem', agentCa: '/etc/ctl/agents.pem', metrics: true, metricsClientCa: '/etc/ctl/scrapers.pem', crl: '/etc/ctl/tls/revoked.crl' });
});

void t.test('the file path is made absolute and anchors relative tls paths', async (t) => {
  const c = parseClusterConfig(`${MINIMAL}tls: { ca: ca.pem, cert: c.pem, key: k.pem }\n`, 'conf/c.yaml');
  t.equal(c.file, path.resolve('conf/c.yaml'));
  t.equal(c.tls?.ca, path.resolve('conf/ca.pem'));
  t.equal(c.tls?.clientCa, null, 'no client CA: client certificates come from ca');
  t.equal(c.tls?.agentCa, null, 'no agent CA: agents are not told apart from operators');
  t.equal(c.tls?.metrics, false, '/metrics is plain HTTP unless asked');
  t.equal(c.tls?.metricsClientCa, null, 'no scraper certificate asked for unless a CA is named');
  t.equal(c.tls?.crl, null, 'no CRL: no certificate is checked for revocation');
});

void t.test('empty blocks are treated as absent', async (t) => {
  const c = parseClusterConfig(`${MINIMAL}controller:\n  heartbeat:\n  audit:\nraft:\ntls:\n`, 'f.yaml');
  t.equal(c.heartbeat.baseTimeoutMs, 2_000);
  t.equal(c.raft.electionTimeoutMs, 1_000);
  t.equal(c.tls, null);
});

void t.test('the seed-compatible heartbeat block loads, state_sync_interval inside it', async (t) => {
  const c = parseClusterConfig(
    `cluster:
  name: seed
  nodes:
    - { id: c1, address: 127.0.0.1:7101 }
    - { id: c2, address: 127.0.0.1:7102 }
    - { id: c3, address: 127.0.0.1:7103 }
controller:
  data_dir: ./data/\${id}
  heartbeat:
    base_timeout: 3s
    dynamic_adjustment: false
    state_sync_interval: 7s
raft:
  heartbeat_interval: 100ms
  election_timeout: 1s
  snapshot_threshold: 10000
`,
    'seed.yaml',
  );
  t.equal(c.heartbeat.baseTimeoutMs, 3_000);
  t.equal(c.heartbeat.dynamicAdjustment, false);
  t.equal(c.stateSyncIntervalMs, 7_000);
});

void t.test('${id} is substituted in data_dir, everywhere it appears', async (t) => {
  const c = parseClusterConfig(
    `cluster:\n  nodes: [ { id: n-1.a, address: 'h1:1' }, { id: n_2, address: 'h2:1' } ]\ncontroller:\n  data_dir: /var/lib/\${id}/store-\${id}\n`,
    'f.yaml',
  );
  t.equal(nodeConfigFor(c, 'n-1.a').dataDir, '/var/lib/n-1.a/store-n-1.a');
  t.equal(nodeConfigFor(c, 'n_2', '/ignored').dataDir, '/var/lib/n_2/store-n_2', 'absolute templates ignore the cwd');
  const relative = parseClusterConfig(`${MINIMAL}controller:\n  data_dir: state/\${id}\n`, 'f.yaml');
  t.equal(nodeConfigFor(relative, 'a', '/run/x').dataDir, '/run/x/state/a');
  t.equal(nodeConfigFor(relative, 'a', '/run/x').dataDirTemplate, 'state/${id}', 'the template itself is kept');
});

void t.test('listen and metrics are kept apart from address', async (t) => {
  const c = parseClusterConfig(
    `cluster:\n  nodes:\n    - { id: a, address: 'proxy.example.com:443', listen: '0.0.0.0:7101', metrics: '[::1]:9100' }\n`,
    'f.yaml',
  );
  t.same(c.nodes[0], { id: 'a', address: 'proxy.example.com:443', listen: '0.0.0.0:7101', metrics: '[::1]:9100' });
});

void t.test('tls paths may name the node: ${id} is substituted per node', async (t) => {
  const c = parseClusterConfig(`${MINIMAL}tls: { ca: /tls/ca.crt, cert: '/tls/\${id}.crt', key: '/tls/\${id}.key' }\n`, '/etc/ctl/cluster.yaml');
  const node = nodeConfigFor(c, 'a', '/');
  t.same([node.tls?.ca, node.tls?.cert, node.tls?.key], ['/tls/ca.crt', '/tls/a.crt', '/tls/a.key']);
});
