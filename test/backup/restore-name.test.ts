/**
 * `controller restore` of a snapshot taken of another cluster name than the config's: it goes
 * ahead (copying a cluster's state into another is a reason to), and says so on stderr before
 * anything starts on it. Before, a backup of staging restored with production's file became
 * production without a word, and production's agents synced to staging's services
 * (attack-operator round 15).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { otherClusterNote } from '../../src/backup/restore-name.js';
import { encodeSnapshotFile } from '../../src/backup/snapshot-file.js';
import { freePorts } from '../helpers/free-ports.js';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { SNAPSHOT_DATA, SNAPSHOT_HEADER } from '../helpers/snapshot-fixture.js';

void t.test('the note names both clusters, what the restored one becomes, and how to take it back', async (t) => {
  t.equal(otherClusterNote('prod', 'prod', '/etc/c.yaml', 'c1', '/var/lib/c1'), null, 'the same name: nothing to say');
  t.equal(
    otherClusterNote('staging', 'prod', '/etc/c.yaml', 'c1', '/var/lib/c1'),
    'the snapshot was taken of cluster "staging", but /etc/c.yaml names cluster "prod": the restored cluster is "prod" with "staging"\'s state, ' +
      'and agents that held "prod"\'s configuration take it for "prod" restored and sync to its services. ' +
      'If this is the wrong file, delete /var/lib/c1 before starting c1; if you meant to copy "staging"\'s state, nothing to do',
  );
});

void t.test('controller restore warns of a snapshot of another cluster name, restores it, and says nothing for its own', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-name-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const snap = path.join(dir, 'backup.snap');
  fs.writeFileSync(snap, encodeSnapshotFile(SNAPSHOT_HEADER, SNAPSHOT_DATA)); // taken of "prod"
  const [port] = await freePorts(1);
  const run = async (name: string): Promise<{ code: number; stderr: string; dataDir: string }> => {
    const config = path.join(dir, `${name}.yaml`);
    const dataDir = path.join(dir, `data-${name}`);
    fs.writeFileSync(config, `cluster:\n  name: ${name}\n  nodes:\n    - { id: c1, address: 127.0.0.1:${port} }\ncontroller:\n  data_dir: ${dataDir}\n`);
    const r = await runToExit(CONTROLLER_JS, ['restore', '--from', snap, '--config', config, '--id', 'c1'], `controller restore (${name})`, 30_000);
    return { code: r.code, stderr: r.stderr, dataDir };
  };
  const other = await run('staging');
  t.equal(other.code, 0, other.stderr);
  t.match(other.stderr, /^controller restore: warning: the snapshot was taken of cluster "prod", but .*staging\.yaml names cluster "staging": /m);
  t.ok(fs.existsSync(path.join(other.dataDir, 'raft')), 'restored all the same');
  const own = await run('prod');
  t.equal(own.code, 0, own.stderr);
  t.notMatch(own.stderr, /warning/, 'its own cluster name: no warning');
});
