/**
 * A `controller.data_dir` without `${id}` names one directory for every member started from the
 * file. On hosts of their own that is fine (deploy.md gives each host /var/lib/controller/NAME),
 * but members of one host started from one such file all open the same directory: the first
 * runs, alone in a cluster it can never make a quorum of, and the others stop on LevelDB's lock
 * ("another controller process holds this data dir"), which names no cause in the file
 * (operator round 17). Said at every start of such a member, naming the members and the fix.
 */
import path from 'node:path';
import { isLoopbackHost, parseHostPort } from './host-port.js';

export const SHARED_DATA_DIR = 'SHARED_DATA_DIR';

/** The host an address names, loopback hosts as one; null when it does not parse. */
function hostOf(address: string): string | null {
  const parsed = parseHostPort(address);
  if (!parsed.ok) return null;
  return isLoopbackHost(parsed.value.host) ? 'loopback' : parsed.value.host.toLowerCase();
}

interface Addressed {
  readonly id: string;
  readonly address: string;
}

/** What of a node's config the check reads. */
export interface DataDirPlacement {
  readonly file: string;
  readonly dataDirTemplate: string;
  readonly dataDir: string;
  readonly nodes: readonly Addressed[];
  readonly self: Addressed;
}

/** Why this member would share its data dir with another member of its host; null when it would not. */
export function sharedDataDirWarning(config: DataDirPlacement): string | null {
  if (config.dataDirTemplate.includes('${id}')) return null;
  const host = hostOf(config.self.address);
  if (host === null) return null;
  const beside = config.nodes.filter((n) => n.id !== config.self.id && hostOf(n.address) === host).map((n) => n.id);
  if (beside.length === 0) return null;
  // A relative one is each process's working directory's: shared only when they start from one.
  const where = path.isAbsolute(config.dataDirTemplate) ? 'started there from this file' : 'started there from this file and one working directory';
  return (
    `controller.data_dir ${JSON.stringify(config.dataDirTemplate)} in ${config.file} has no \${id}, and ${[config.self.id, ...beside].join(', ')} have addresses on one host: ` +
    `${where}, they all open ${config.dataDir}, and only the first runs (the others stop: another controller process holds this data dir). ` +
    `Give each member its own directory, e.g. data_dir: ${JSON.stringify(`${config.dataDirTemplate.replace(/\/+$/, '')}/\${id}`)}`
  );
}
