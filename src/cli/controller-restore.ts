/**
 * `controller restore --from FILE --config FILE --id ID`: writes ID's data dir from a snapshot
 * (src/backup/restore.ts) and exits; nothing is started. Exit 0 when the data dir is written,
 * 2 for a config error, a node that still runs or a data dir that is not empty, 1 for a file that
 * cannot be used.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { restoreDataDir, RestoreError } from '../backup/restore.js';
import { discardStaging, stagingDirOf } from '../backup/restore-staging.js';
import { raftDbPath } from '../storage/paths.js';
import { startOfflineTool } from './offline-tool.js';
import { givenOnce } from './given-once.js';

export async function runRestore(argv: readonly string[]): Promise<void> {
  const command = new Command('controller restore')
    .description('Write a new cluster\'s first data dir from a snapshot (`ctl snapshot save`), then exit.')
    .requiredOption('--from <file>', 'the snapshot file', givenOnce('--from'))
    .requiredOption('-c, --config <file>', 'cluster YAML file', givenOnce('--config'))
    .requiredOption('-i, --id <id>', 'the node whose data dir to write (one of cluster.nodes)', givenOnce('--id'));
  const { opts, config, fail } = startOfflineTool<{ from: string; config: string; id: string }>(command, argv);
  // Interrupted, the restore leaves no half-written copy of the state beside the data dir.
  const interrupted = (signal: NodeJS.Signals, code: number) => (): void => {
    // Not yet begun, or already renamed into place: nothing to take back.
    let what = `check ${config.dataDir} before starting it`;
    // Filled in place, the data dir holds its Raft database from the rename on, before the empty staging dir is gone.
    if (fs.existsSync(stagingDirOf(config.dataDir, process.pid)) && !fs.existsSync(raftDbPath(config.dataDir))) {
      what = `${config.dataDir} was not written`;
      const left = discardStaging(config.dataDir, process.pid);
      if (left !== null) what += `; ${left}: the next restore of ${config.dataDir} removes it, or remove it by hand`;
    }
    process.stderr.write(`controller restore: interrupted (${signal}); ${what}\n`);
    process.exit(code);
  };
  process.once('SIGINT', interrupted('SIGINT', 130));
  process.once('SIGTERM', interrupted('SIGTERM', 143));
  try {
    const r = await restoreDataDir(opts.from, config);
    for (const dir of r.removedLeftovers) process.stderr.write(`controller restore: removed ${dir}, left by an interrupted restore\n`);
    if (r.diskNote !== null) process.stderr.write(`controller restore: warning: ${r.diskNote}\n`);
    if (r.nameNote !== null) process.stderr.write(`controller restore: warning: ${r.nameNote}\n`);
    const others = r.formerMembers.length === 0 ? '' : ` The snapshot's other members (${r.formerMembers.join(', ')}) are not members of the new cluster.`;
    process.stdout.write(
      `restored ${r.dataDir} from ${opts.from}: index ${r.header.index}, revision ${r.header.revision}, ${r.keys} keys, ` +
        `taken by ${r.header.takenBy} of ${r.header.cluster} at ${r.header.createdAt}. ` +
        `${opts.id} is the only member of a new cluster (id ${r.clusterId}): start it with \`controller --config ${opts.config} --id ${opts.id}\`, ` +
        `then add each other controller with \`ctl member add ID ADDRESS\` and start it with --join and an empty data dir. Restore on this one host only: each restored data dir is a cluster of its own.${others}\n`,
    );
  } catch (err) {
    if (err instanceof RestoreError) fail(err.message, err.exitCode);
    throw err;
  }
}
