/**
 * A relative `controller.data_dir` (the default `./data/${id}` is one) is taken from the working
 * directory at start. Every member restarted from another directory (a manual start moved to a
 * unit with another WorkingDirectory, a script that cds elsewhere) finds an empty data dir, and
 * since none of its peers knows it ran before (they are all empty too), together they bootstrap
 * a new, empty cluster that calls itself healthy: every acknowledged write seemed lost
 * (attack-operator round 16; the old data dirs are intact where they were). Nothing on disk can
 * tell such a start from a first one, so it is said where it matters: at every start of a member
 * reachable beyond loopback (a deployed cluster), and whenever a node bootstraps a new cluster.
 */
import path from 'node:path';
import { isLoopbackHost, parseHostPort } from '../config/host-port.js';
import type { NodeConfig } from '../config/index.js';

export const RELATIVE_DATA_DIR = 'RELATIVE_DATA_DIR';

function beyondLoopback(address: string): boolean {
  const parsed = parseHostPort(address);
  return parsed.ok && !isLoopbackHost(parsed.value.host);
}

function where(config: NodeConfig, cwd: () => string): string {
  return `controller.data_dir ${JSON.stringify(config.dataDirTemplate)} in ${config.file} is relative: this start uses ${config.dataDir} (from the working directory ${cwd()})`;
}

/**
 * At every start: a deployed member whose data dir depends on the directory it is started from;
 * null otherwise. `cwd` is asked only then: with an absolute data_dir a node may run from a
 * deleted working directory, where process.cwd() throws.
 */
export function relativeDataDirWarning(config: NodeConfig, cwd: () => string): string | null {
  if (path.isAbsolute(config.dataDirTemplate)) return null;
  if (!config.nodes.some((n) => beyondLoopback(n.address) || beyondLoopback(n.listen))) return null;
  return (
    `${where(config, cwd)}; started from another directory, this node finds an empty data dir, and with every member restarted so they bootstrap a new, empty cluster. ` +
    'Write an absolute data_dir (e.g. /var/lib/controller/${id})'
  );
}

/** When this node bootstraps a new cluster from a relative data_dir: where its old data would be if the cluster ran before. */
export function relativeBootstrapWarning(config: NodeConfig, cwd: () => string): string | null {
  if (path.isAbsolute(config.dataDirTemplate)) return null;
  return (
    `${where(config, cwd)}, and it was empty, so this node bootstrapped a new cluster. If this cluster ran before, from another working directory, ` +
    'its data is in that directory: stop every member before anything is written, and start them from there (or give data_dir that absolute path)'
  );
}
