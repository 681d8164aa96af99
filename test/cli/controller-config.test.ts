/**
 * The controller binary refuses an impossible cluster file at start: exit 2, one stderr line
 * with the file, the key path and the reason, and nothing written to data_dir. A file that
 * works but is risky starts with a warning in the log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePorts } from '../helpers/free-ports.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

const CONTROLLER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/controller.js');

void t.test('a preferred leader outside cluster.nodes: exit 2 naming the key, nothing in data_dir', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'controller-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ports = await freePorts(3);
  const nodes = ports.map((p, i) => `    - { id: c${i + 1}, address: 127.0.0.1:${p} }`).join('\n');
  const file = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(file, `cluster:\n  preferred_leader: c9\n  nodes:\n${nodes}\ncontroller:\n  data_dir: ${dir}/data/\${id}\n`);

  const r = await runToExit(CONTROLLER, ['--config', file, '--id', 'c1'], 'controller', 30_000);
  t.equal(r.code, 2, r.stderr);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.match(r.stderr, `${file}: cluster.preferred_leader: c9 is not one of cluster.nodes; it could be c1, c2, c3 or none`);
  t.notOk(fs.existsSync(path.join(dir, 'data')), 'nothing written to data_dir');
});

void t.test('Raft timings below their floors: exit 2 naming the key, the value and the floor, nothing in data_dir', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'controller-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [port] = await freePorts(1);
  const file = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(
    file,
    `cluster:\n  nodes:\n    - { id: c1, address: 127.0.0.1:${port} }\ncontroller:\n  data_dir: ${dir}/data/\${id}\n  heartbeat:\n    base_timeout: 100ms\n` +
      'raft:\n  heartbeat_interval: 1ms\n  election_timeout: 5ms\n',
  );

  const r = await runToExit(CONTROLLER, ['--config', file, '--id', 'c1'], 'controller', 30_000);
  t.equal(r.code, 2, r.stderr);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.match(r.stderr, `${file}: raft.heartbeat_interval: heartbeat_interval 1ms is below the floor of 10ms: Raft ticks no faster than every 5ms`);
  t.notOk(fs.existsSync(path.join(dir, 'data')), 'nothing written to data_dir');
});

void t.test('legal but risky Raft timings: the controller starts and logs a warning naming the key', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info', raft: { heartbeatInterval: '50ms', electionTimeout: '300ms' } });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  const warning = (): Record<string, unknown> | undefined =>
    (cluster.logs.get('c1') ?? [])
      .join('')
      .split('\n')
      .filter((line) => line.includes('"RISKY_TIMING"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)[0];
  await cluster.explainFailure(waitFor(() => warning() !== undefined, 'the RISKY_TIMING warning'));
  t.match(warning(), { level: 40, code: 'RISKY_TIMING', key: 'raft.election_timeout', msg: `${cluster.configFile}: raft.election_timeout: 300ms is under 10 x raft.heartbeat_interval (50ms) = 500ms` });
  await cluster.waitForLeader(['c1']);
  t.pass('and runs: a single member elects itself');
});

void t.test('a command-line mistake is one stderr line named after the binary, exit 2', async (t) => {
  const AGENT = path.join(path.dirname(CONTROLLER), 'agent.js');
  const cases: [string, string[], string][] = [
    [CONTROLLER, [], "controller: required option '-c, --config <file>' not specified"],
    [CONTROLLER, ['recover', '--config', 'x.yaml'], "controller recover: required option '-i, --id <id>' not specified"],
    [AGENT, ['--id', 'a1'], "agent: required option '--controllers <list>' not specified"],
    // A misspelt flag is named as such, not as the required one it stood for.
    [CONTROLLER, ['--confg', 'x.yaml', '--id', 'c1'], "controller: unknown option '--confg' (Did you mean --config?)"],
    [CONTROLLER, ['restore', '--form', 'x.snap', '--config', 'x.yaml', '--id', 'c1'], "controller restore: unknown option '--form' (Did you mean --from?)"],
    [AGENT, ['--controller', '127.0.0.1:1', '--id', 'a1'], "agent: unknown option '--controller' (Did you mean --controllers?)"],
    // An option that names one thing, given twice: refused naming both (commander would keep the last).
    [CONTROLLER, ['--config', 'x.yaml', '--id', 'c1', '--id', 'c2'], `controller: option '-i, --id <id>' argument 'c2' is invalid. --id is given twice ("c1" and "c2"); give it once`],
    [CONTROLLER, ['restore', '--from', 'a.snap', '--from', 'b.snap', '--config', 'x.yaml', '--id', 'c1'], `controller restore: option '--from <file>' argument 'b.snap' is invalid. --from is given twice ("a.snap" and "b.snap"); give it once`],
    [CONTROLLER, ['recover', '--config', 'x.yaml', '--config', 'y.yaml', '--id', 'c1'], `controller recover: option '-c, --config <file>' argument 'y.yaml' is invalid. --config is given twice ("x.yaml" and "y.yaml"); give it once`],
    [AGENT, ['--controllers', '127.0.0.1:1', '--id', 'a1', '--id', 'a2'], `agent: option '--id <id>' argument 'a2' is invalid. --id is given twice ("a1" and "a2"); give it once`],
  ];
  for (const [bin, args, line] of cases) {
    const r = await runToExit(bin, args, path.basename(bin), 30_000);
    t.equal(r.code, 2, `${path.basename(bin)} ${args.join(' ')}: exit 2`);
    t.equal(r.stderr, `${line}\n`);
  }
});
