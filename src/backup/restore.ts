/**
 * `controller restore`: seeds a new cluster from a snapshot file. It writes one node's data dir
 * holding the snapshot's state, a configuration of that node alone, and a new cluster identity,
 * then the node is started as usual and the others are added with `ctl member add` and started
 * with `--join` (docs/operate.md, backup and restore).
 *
 * It refuses rather than guesses: a node that still runs (./member-running.ts), a damaged or
 * truncated file, a data dir that is not empty, an id the config does not list. Everything is
 * written to a staging directory and renamed into place at the end, so a failure leaves no
 * half-written data dir behind: beside a data dir that does not exist yet, inside one that does
 * (a mount point or a link to a disk cannot be replaced: ./restore-staging.ts). That directory is 0700 from its creation and
 * everything in it is made 0700/0600 before the rename, as the controller keeps its own data
 * dir: it holds every value of the snapshot.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../config/index.js';
import { osIdentitySource, type IdentitySource, type LocalIdentity } from '../identity/index.js';
import { StateMachine } from '../statemachine/index.js';
import { LevelRaftStorage } from '../storage/level-raft-storage.js';
import { raftDbPath } from '../storage/paths.js';
import { isRecord } from '../util/untrusted.js';
import { addressInUse } from './member-running.js';
import { RestoreError } from './restore-error.js';
import { restoreRoom, writeFailure } from './restore-room.js';
import { makePrivateTree, ownerWhenRoot, PRIVATE_DIR_MODE } from './private-tree.js';
import { leftoverStagings, removeLeftoverStagings, restoresInPlace, stagingDirOf } from './restore-staging.js';
import { otherClusterNote } from './restore-name.js';
import { readSnapshotFile, SnapshotFileError, type SnapshotFileHeader } from './snapshot-file.js';

export { RestoreError, type RestoreErrorCode } from './restore-error.js';

export interface RestoreReport {
  readonly header: SnapshotFileHeader;
  /** The new cluster's id, and the restored node's incarnation in it. */
  readonly clusterId: string;
  readonly incarnation: string;
  readonly dataDir: string;
  readonly keys: number;
  /** The members of the snapshot, now forgotten: add them back with `ctl member add`. */
  readonly formerMembers: readonly string[];
  /** Staging dirs of earlier restores of this data dir that were interrupted, removed first (restore-staging.ts). */
  readonly removedLeftovers: readonly string[];
  /** Why the restored node will refuse writes at once (its disk below controller.min_free_disk_bytes), or null. */
  readonly diskNote: string | null;
  /** The snapshot is of another cluster name than the config's (restore-name.ts), or null. */
  readonly nameNote: string | null;
}

/** Who the restored node is in the new cluster. */
export interface NewIdentity {
  readonly id: string;
  readonly address: string;
  readonly clusterId: string;
  readonly incarnation: string;
}

/**
 * The state machine's snapshot with its membership replaced by `self` alone, a voter, under a
 * new cluster id: the restored node must not wait for votes from members of the old cluster,
 * and nothing of the old cluster (its data dirs, its agents) may take the new one for it.
 * Everything else (keys, settings, resources, revisions) stays exactly as it was.
 */
export function seatAlone(data: Uint8Array, self: NewIdentity): { data: Uint8Array; former: string[]; keys: number } {
  const original = new StateMachine();
  original.restore(data); // validates every kind
  const former = original.members.list().map((m) => m.id);
  const decoded: unknown = JSON.parse(new TextDecoder().decode(original.snapshot().subarray(1)));
  if (!isRecord(decoded) || !isRecord(decoded['kinds'])) throw new Error('unreachable: a snapshot without kinds');
  const members = {
    members: [
      {
        id: self.id,
        address: self.address,
        role: 'voter',
        status: 'online',
        statusSince: original.revision(),
        statusReason: 'restored from a snapshot',
        statusTerm: 0,
        statusObservedAt: 0,
        autoPromote: false,
        incarnation: self.incarnation,
      },
    ],
    clusterId: self.clusterId,
    removed: [],
    removedIds: [],
  };
  const body = { ...decoded, kinds: { ...decoded['kinds'], members } };
  const seated = new StateMachine();
  seated.restore(new TextEncoder().encode(String.fromCharCode(data[0] ?? 1) + JSON.stringify(body)));
  return { data: seated.snapshot(), former, keys: seated.kv.size };
}

/** What a fresh file system has at its root (ext4's mkfs makes it): empty, it holds nothing of anyone's. */
const LOST_AND_FOUND = 'lost+found';

function isEmptyDirectory(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/**
 * True when `dataDir` is missing or holds nothing a restore would overwrite: a disk mounted
 * there may hold its empty lost+found, and a restore cut short inside it its copy of the state
 * (removed before this one writes; a start refuses it meanwhile, restoreCutShortRefusal).
 */
function isEmptyDataDir(dataDir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const leftovers = new Set(leftoverStagings(dataDir).map((dir) => path.basename(dir)));
  return names.every((name) => leftovers.has(name) || (name === LOST_AND_FOUND && isEmptyDirectory(path.join(dataDir, name))));
}

/** Makes the entries renamed in `dir` durable. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function restoreDataDir(file: string, config: NodeConfig, newId: IdentitySource = osIdentitySource): Promise<RestoreReport> {
  const dataDir = config.dataDir;
  const id = config.self.id;
  // First: a running member's LevelDB writes into whatever is at its data dir's path, even once
  // its own dir was moved aside (./member-running.ts).
  const inUse = await addressInUse(config);
  if (inUse !== null) {
    throw new RestoreError(
      'NODE_RUNNING',
      `refusing to restore ${id}: its address ${inUse} is in use, so ${id} (or another program) still runs; stop it and wait for it to exit, ` +
        `then restore (a running controller keeps writing at ${dataDir}, into a restored dir too once its own was moved aside)`,
    );
  }
  if (!isEmptyDataDir(dataDir)) {
    throw new RestoreError('DATA_DIR_NOT_EMPTY', `refusing to restore into ${dataDir}: it is not empty; stop ${id} if it runs, then move the dir aside (or delete it)`);
  }
  let decoded: { header: SnapshotFileHeader; data: Uint8Array };
  try {
    decoded = readSnapshotFile(file);
  } catch (err) {
    if (err instanceof SnapshotFileError) throw new RestoreError('SNAPSHOT_INVALID', `refusing to restore: ${err.message}`, { cause: err });
    throw new RestoreError('SNAPSHOT_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let header: SnapshotFileHeader;
  let seated: ReturnType<typeof seatAlone>;
  const self: NewIdentity = { id: config.self.id, address: config.self.address, clusterId: newId(), incarnation: newId() };
  // The data dir's own record: it belongs to the new cluster, which records it as its member.
  const identity: LocalIdentity = {
    memberId: self.id,
    incarnation: self.incarnation,
    clusterId: self.clusterId,
    origin: 'bootstrap',
    recorded: true,
    creationSeen: true,
    // A new cluster made from a snapshot, not from a file: nothing to compare.
    creation: null,
  };
  try {
    header = decoded.header;
    seated = seatAlone(decoded.data, self);
  } catch (err) {
    const reason = err instanceof SnapshotFileError ? err.message : `${file}: the snapshot's state is invalid: ${(err as Error).message}`;
    throw new RestoreError('SNAPSHOT_INVALID', `refusing to restore: ${reason}`, { cause: err });
  }
  // Written beside the data dir, or inside it when it exists, renamed into place once complete.
  const leftovers = removeLeftoverStagings(dataDir);
  const room = await restoreRoom(dataDir, seated.data.byteLength, config.minFreeDiskBytes);
  const inPlace = restoresInPlace(dataDir);
  const staging = stagingDirOf(dataDir, process.pid, inPlace);
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    fs.mkdirSync(staging, { recursive: true, mode: PRIVATE_DIR_MODE });
    const storage = await LevelRaftStorage.open(raftDbPath(staging));
    try {
      const meta = { index: header.index, term: header.term, conf: { voters: [config.self.id], learners: [] } };
      await storage.save({ hardState: { term: header.term, vote: null, commit: header.index }, entries: [], snapshot: { meta, data: seated.data } }, true);
      await storage.saveIdentity(identity);
    } finally {
      await storage.close();
    }
    // LevelDB made its files with the umask (0644 by default; the CLI sets 077, a library caller may not).
    // Run as root: the owner of the (empty) data dir, else of the directory it goes into.
    makePrivateTree(staging, ownerWhenRoot(dataDir) ?? ownerWhenRoot(path.dirname(dataDir)));
    if (inPlace) {
      // The data dir stays (a mount point, a link): its Raft database is what is renamed into it.
      fs.renameSync(raftDbPath(staging), raftDbPath(dataDir));
      fs.rmdirSync(staging);
      syncDir(dataDir);
    } else {
      if (fs.existsSync(dataDir)) fs.rmdirSync(dataDir); // empty, checked above
      fs.mkdirSync(path.dirname(dataDir), { recursive: true });
      fs.renameSync(staging, dataDir);
      syncDir(path.dirname(dataDir));
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw writeFailure(dataDir, seated.data.byteLength, room.freeBytes, err);
  }
  return {
    header,
    clusterId: self.clusterId,
    incarnation: self.incarnation,
    dataDir,
    keys: seated.keys,
    formerMembers: seated.former.filter((id) => id !== config.self.id),
    removedLeftovers: leftovers,
    diskNote: room.note,
    nameNote: otherClusterNote(header.cluster, config.clusterName, config.file, id, dataDir),
  };
}
