/**
 * What a start checks on a resolved config beyond the schema: the TLS files (readable, a matching
 * current pair, ...) and the data dir (a writable directory, or one that can be created). A reload
 * on SIGHUP runs the same function on the new file (src/config/config-reload.ts), so it never
 * reports as reloaded a file whose restart would exit 2. Neither check leaves anything behind.
 */
import type { NodeConfig } from '../config/index.js';
import { checkDataDir } from '../node/data-dir-check.js';
import { checkTlsConfig } from './controller-tls.js';

/** Throws the start's ConfigError (key, path, cause) for the first problem. */
export function checkStartable(file: string, config: NodeConfig): void {
  checkTlsConfig(file, config);
  checkDataDir(file, config.dataDir);
}
