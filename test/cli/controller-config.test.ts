/**
 * The controller binary refuses an impossible cluster file at start: exit 2, one stderr line
 * with the file, the key path and the reason, and nothing written to data_dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePorts } from '../helpers/free-ports.js';
import { runToExit } from '../helpers/run-to-exit.js';

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
