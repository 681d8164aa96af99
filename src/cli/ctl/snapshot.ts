/**
 * `ctl snapshot save FILE`: a consistent snapshot of the cluster's state, verified and written
 * atomically; `ctl snapshot status FILE`: what a snapshot file holds, after the same checks
 * `controller restore` makes.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../api/errors.js';
import { writeFileAtomic } from '../../backup/atomic-file.js';
import { SnapshotFileError, encodeSnapshotFile, readSnapshotFile, type SnapshotFileHeader } from '../../backup/snapshot-file.js';
import { WriteTargetError, writeTargetProblem } from '../../backup/write-target.js';
import { StateMachine } from '../../statemachine/index.js';
import { formatBytes } from '../cell-format.js';
import { plainTable } from '../plain-table.js';
import { pathArg, type Session } from './context.js';
import { jsonText } from '../printable.js';

const FORMATS = ['text', 'json'] as const;
type Format = (typeof FORMATS)[number];
const STATUS_FORMATS = ['table', 'json'] as const;
type StatusFormat = (typeof STATUS_FORMATS)[number];

/** `ctl snapshot save -o json` and `snapshot status -o json`. */
export interface SnapshotJson extends SnapshotFileHeader {
  readonly file: string;
}

function snapshotJson(file: string, h: SnapshotFileHeader): SnapshotJson {
  return {
    file,
    index: h.index,
    term: h.term,
    revision: h.revision,
    size: h.size,
    sha256: h.sha256,
    cluster: h.cluster,
    takenBy: h.takenBy,
    version: h.version,
    createdAt: h.createdAt,
  };
}

export function registerSnapshot(program: Command, session: Session): void {
  const snapshot = program.command('snapshot').description('back up the cluster state, and inspect a backup');
  snapshot
    .command('save')
    .description('write a consistent snapshot of the cluster state to FILE (restore it with `controller restore`)')
    .argument('<file>', 'the snapshot file', pathArg)
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('text'))
    .action(async (file: string, opts: { readonly output: Format }) => {
      // Before asking for the snapshot: a target it would replace rather than write is the operator's to fix.
      const problem = writeTargetProblem(file);
      if (problem !== null) throw new UsageError(`snapshot save FILE: ${problem}`);
      const got = await session.operator().snapshot();
      const header: SnapshotFileHeader = { ...got.header, sha256: got.sha256 };
      try {
        await writeFileAtomic(file, encodeSnapshotFile(header, got.data));
      } catch (err) {
        if (err instanceof WriteTargetError) throw new UsageError(`snapshot save FILE: ${err.message}`, { cause: err });
        throw new Error(`cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (opts.output === 'json') {
        session.io.out(`${jsonText(snapshotJson(file, header))}\n`);
        return;
      }
      session.io.out(
        `saved a snapshot of ${header.cluster} to ${file}: index ${header.index}, term ${header.term}, revision ${header.revision}, ` +
          `${formatBytes(header.size)}, sha256 ${header.sha256.slice(0, 12)}, taken by ${header.takenBy}\n`,
      );
    });
  snapshot
    .command('status')
    .description('check snapshot FILE (checksums, format) and print what it holds')
    .argument('<file>', 'the snapshot file', pathArg)
    .addOption(new Option('-o, --output <format>', 'output format').choices(STATUS_FORMATS).default('table'))
    .action((file: string, opts: { readonly output: StatusFormat }) => {
      let read: { header: SnapshotFileHeader; data: Uint8Array };
      try {
        read = readSnapshotFile(file);
      } catch (err) {
        if (err instanceof SnapshotFileError) throw err;
        throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      const { header, data } = read;
      const sm = new StateMachine();
      sm.restore(data);
      const keys = sm.kv.size;
      const members = sm.members.list().map((m) => m.id);
      if (opts.output === 'json') {
        session.io.out(`${jsonText({ ...snapshotJson(file, header), keys, members })}\n`);
        return;
      }
      session.io.out(
        plainTable(
          ['INDEX', 'TERM', 'REVISION', 'KEYS', 'SIZE', 'SHA256', 'CLUSTER', 'TAKEN-BY', 'CREATED'],
          [[String(header.index), String(header.term), String(header.revision), String(keys), formatBytes(header.size), header.sha256.slice(0, 12), header.cluster, header.takenBy, header.createdAt]],
        ),
      );
    });
}
