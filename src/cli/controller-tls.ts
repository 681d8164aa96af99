/**
 * A controller's TLS files, checked with its config before anything starts (tls-snapshot.ts:
 * the same checks a reload on SIGHUP runs). A problem is a config error (exit 2) naming the key
 * and the file, instead of OpenSSL's words from inside gRPC and exit 1 with a stack trace.
 */
import { ConfigError, type NodeConfig } from '../config/index.js';
import { readTlsSnapshot } from '../transport/tls-snapshot.js';

export function checkTlsConfig(file: string, config: NodeConfig): void {
  if (config.tls === null) return;
  const checked = readTlsSnapshot(config.tls, config.self.id);
  if (!checked.ok) throw new ConfigError(file, [{ keyPath: checked.problem.keyPath, reason: checked.problem.reason, line: null }]);
}
