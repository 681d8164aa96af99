import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadClusterConfig, loadNodeConfig } from '../../src/config/load.js';
import { configKeys } from '../helpers/config-keys.js';

// dist/test/config/ -> repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const configFile = (name: string): string => path.join(root, 'config', name);

void t.test('config/local-3.yaml loads as the contract example with metrics endpoints', async (t) => {
  const c = loadClusterConfig(configFile('local-3.yaml'));
  t.equal(c.file, configFile('local-3.yaml'));
  t.equal(c.clusterName, 'local');
  t.same(c.nodes, [
    { id: 'c1', address: '127.0.0.1:7101', listen: '127.0.0.1:7101', metrics: '127.0.0.1:9101' },
    { id: 'c2', address: '127.0.0.1:7102', listen: '127.0.0.1:7102', metrics: '127.0.0.1:9102' },
    { id: 'c3', address: '127.0.0.1:7103', listen: '127.0.0.1:7103', metrics: '127.0.0.1:9103' },
  ]);
  t.equal(c.dataDirTemplate, './data/${id}');
  t.equal(c.heartbeat.baseTimeoutMs, 2_000);
  t.equal(c.heartbeat.dynamicAdjustment, true);
  t.equal(c.stateSyncIntervalMs, 5_000);
  t.equal(c.raft.heartbeatIntervalMs, 100);
  t.equal(c.raft.electionTimeoutMs, 1_000);
  t.equal(c.raft.snapshotThreshold, 10_000);
  t.equal(c.tls, null);
});

void t.test('config/local-5.yaml has five nodes on 7101..7105', async (t) => {
  const c = loadClusterConfig(configFile('local-5.yaml'));
  t.same(
    c.nodes.map((n) => [n.id, n.address, n.metrics]),
    [1, 2, 3, 4, 5].map((i) => [`c${i}`, `127.0.0.1:710${i}`, `127.0.0.1:910${i}`]),
  );
});

void t.test('config/production.example.yaml sets every key and loads', async (t) => {
  const c = loadClusterConfig(configFile('production.example.yaml'));
  t.equal(c.nodes.length, 3);
  t.ok(c.nodes.every((n) => n.listen === '0.0.0.0:7101'), 'all hosts bind the wildcard on the same port');
  t.same(c.tls, { ca: '/etc/controller/tls/ca.crt', cert: '/etc/controller/tls/controller.crt', key: '/etc/controller/tls/controller.key', clientCa: null, agentCa: null, metrics: false, metricsClientCa: null, crl: null });
  t.equal(c.auditRetention.maxAgeMs, 7 * 24 * 3_600_000);
  t.equal(c.heartbeat.intervalMs, 500);
  const node = loadNodeConfig(configFile('production.example.yaml'), 'ctl-b');
  t.equal(node.dataDir, '/var/lib/controller/ctl-b');
  t.equal(node.self.address, '10.0.0.12:7101');
});

/** The lines of top-level section `name:` (as written, or commented out as `# name:`). */
function sectionLines(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^(# )?${name}:`).test(l));
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^(# )?[a-z_]+:/.test(l));
  return end < 0 ? rest : rest.slice(0, end);
}

void t.test('config/production.example.yaml names every key of the schema, set or commented out with its default', async (t) => {
  // deploy.md and reference.md send operators there for "every key", with its default.
  const text = fs.readFileSync(configFile('production.example.yaml'), 'utf8');
  // The seed-compatible spelling of controller.state_sync_interval is not advertised.
  const keys = configKeys().filter((k) => k !== 'controller.heartbeat.state_sync_interval');
  t.ok(keys.length > 40, `${keys.length} keys in the schema`);
  for (const key of keys) {
    const [section, ...rest] = key.split('.');
    const leaf = rest.at(-1)?.replace('[]', '') ?? '';
    const found = sectionLines(text, section!).some((l) => new RegExp(`^\\s*(#\\s*|- )?${leaf}:\\s`).test(l));
    t.ok(found, `${key} is in the example`);
  }
});

void t.test('loadNodeConfig picks the entry and resolves data_dir against the cwd', async (t) => {
  const node = loadNodeConfig(configFile('local-3.yaml'), 'c2', '/srv/run');
  t.equal(node.self.id, 'c2');
  t.equal(node.dataDir, '/srv/run/data/c2');
  const fromProcess = loadNodeConfig(configFile('local-3.yaml'), 'c3');
  t.equal(fromProcess.dataDir, path.resolve(process.cwd(), 'data/c3'));
});
