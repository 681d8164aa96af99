/** The config package's public surface. */
export { parseDuration, formatDuration, DurationError } from './duration.js';
export { ConfigError } from './errors.js';
export type { ConfigProblem } from './errors.js';
export { loadClusterConfig, loadNodeConfig, parseClusterConfig, nodeConfigFor } from './load.js';
export type {
  AuditRetention,
  ClusterConfig,
  HeartbeatConfig,
  LogLevel,
  NodeConfig,
  NodeEntry,
  RaftSettings,
  TlsConfig,
} from './types.js';
export { LOG_LEVELS } from './types.js';
