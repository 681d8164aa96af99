/** Where each store lives inside a node's data dir. */
import { join } from 'node:path';

/** The LevelDB database holding the Raft hard state, snapshot and log. */
export function raftDbPath(dataDir: string): string {
  return join(dataDir, 'raft');
}
