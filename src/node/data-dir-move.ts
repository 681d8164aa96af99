/**
 * A config file, read again on SIGHUP, that points `controller.data_dir` somewhere holding no
 * Raft state while this controller runs on a data dir that does. The restart it waits for would
 * start the member empty: its peers refuse that (ALREADY_BOOTSTRAPPED, exit 2, advising a
 * rebuild), and with no peer answering (a one-member cluster, or the others down) it bootstraps a
 * new, empty cluster under the member's id. Measured (attack round 13): a one-member cluster
 * reloaded onto an empty data_dir and restarted answered `key "precious" not found`, the old
 * data dir ignored. The reload refuses such a file while there is time to act.
 */
import fs from 'node:fs';
import path from 'node:path';
import { raftDbPath } from '../storage/paths.js';

/** A table, a log or the CURRENT file: what LevelDB keeps, or names, records in. */
const RAFT_FILE = /^(?:CURRENT|\d+\.(?:ldb|sst|log))$/;

/** Whether `dataDir` holds a Raft database (anything a start would not take for empty). */
export function holdsRaftState(dataDir: string): boolean {
  try {
    return fs.readdirSync(raftDbPath(dataDir)).some((n) => RAFT_FILE.test(n));
  } catch {
    return false; // no raft/ (or no data dir): a start creates them empty
  }
}

/** Whether two paths name one directory (a symbolic link, a relative spelling); by their text when either is missing. */
export function sameDir(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

export interface DataDirProbe {
  holdsRaftState(dataDir: string): boolean;
  sameDir(a: string, b: string): boolean;
}

const nodeProbe: DataDirProbe = { holdsRaftState, sameDir };

/** Why a restart on the file's data dir would start this member empty; null when it would not. */
export function dataDirMoveProblem(file: string, self: string, dataDir: { readonly file: string; readonly running: string }, probe: DataDirProbe = nodeProbe): string | null {
  if (probe.sameDir(dataDir.file, dataDir.running)) return null;
  if (probe.holdsRaftState(dataDir.file) || !probe.holdsRaftState(dataDir.running)) return null;
  return (
    `${file}: controller.data_dir: ${dataDir.file} holds no Raft state, but ${self} runs on ${dataDir.running}, which does: ` +
    `a restart with this file would start ${self} empty, refused (ALREADY_BOOTSTRAPPED) while its peers answer, and with none ` +
    `answering it would bootstrap a new, empty cluster. To move the data dir: stop the controller, move ${dataDir.running} ` +
    `to ${dataDir.file}, then start it; otherwise put ${dataDir.running} back in the file`
  );
}
