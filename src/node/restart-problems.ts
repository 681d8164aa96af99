/**
 * What a running controller knows a restart with its config file, read again on SIGHUP, would
 * be refused for once its peers answer, or would start empty: the file checks alone cannot see
 * it, the replicated state, the name and the data dir in force can. The reload refuses such a
 * file with these words (src/config/config-reload.ts, RunningChecks) instead of calling its keys
 * "in force after a restart" and leaving the restart to fail (exit 2) or start empty.
 */
import { dataDirMoveProblem, type DataDirProbe } from './data-dir-move.js';
import { selfAddressProblem } from './file-addresses.js';

interface Addressed {
  readonly id: string;
  readonly address: string;
}

/**
 * The file's cluster.name against the one this controller runs: its peers refuse every message
 * of another name, so a restart under it is refused (CLUSTER_NAME) while most of them run. A
 * controller alone in its cluster has no peer to refuse it: null then, as when they agree.
 */
export function clusterNameProblem(file: string, self: string, name: { readonly file: string; readonly running: string }, members: readonly Addressed[]): string | null {
  const peers = members.filter((m) => m.id !== self).map((m) => m.id);
  if (name.file === name.running || peers.length === 0) return null;
  return (
    `${file}: cluster.name: ${JSON.stringify(name.file)}, but this controller and its peers (${peers.join(', ')}) run cluster ` +
    `${JSON.stringify(name.running)}, and each refuses every message of another name: a restart with this file is refused ` +
    `(CLUSTER_NAME) while most of them run. Put ${JSON.stringify(name.running)} back (a typo, or another cluster's file?)`
  );
}

/** The first reason a restart with `next` would be refused, in the words the start uses; null: none known. */
export function restartProblem(
  next: { readonly file: string; readonly clusterName: string; readonly self: Addressed; readonly dataDir: string },
  running: { readonly clusterName: string; readonly dataDir: string },
  members: readonly Addressed[],
  probe?: DataDirProbe,
): string | null {
  return (
    selfAddressProblem(next.file, next.self, members) ??
    clusterNameProblem(next.file, next.self.id, { file: next.clusterName, running: running.clusterName }, members) ??
    dataDirMoveProblem(next.file, next.self.id, { file: next.dataDir, running: running.dataDir }, probe)
  );
}
