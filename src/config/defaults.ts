/** Defaults for every key except cluster.nodes. Derived defaults are functions of what they derive from. */

export const DEFAULTS = {
  clusterName: 'default',
  dataDir: './data/${id}',
  baseTimeoutMs: 2_000,
  dynamicAdjustment: true,
  rttWindow: 16,
  stateSyncIntervalMs: 5_000,
  logLevel: 'info',
  auditMaxEvents: 100_000,
  auditMaxAgeMs: 7 * 24 * 60 * 60 * 1_000,
  /** How long a member's CPUs, CPU flags and memory size are cached (Incus keeps them 24 h). */
  resourcesCacheTtlMs: 24 * 60 * 60 * 1_000,
  /** Consul's reconnect_timeout: an agent offline this long is forgotten. */
  agentReconnectTimeoutMs: 72 * 60 * 60 * 1_000,
  /** etcd's --quota-backend-bytes: the state a snapshot holds, at most (src/api/state-quota.ts). */
  quotaBytes: 256 * 1024 * 1024,
  /** Free disk the leader keeps under its data dir (src/api/disk-floor.ts): a full disk stops a controller. */
  minFreeDiskBytes: 64 * 1024 * 1024,
  /** The mesh's services and routes as one push's JSON, at most (src/api/mesh-bound.ts). */
  maxMeshBytes: 16 * 1024 * 1024,
  /** Above the 50,000 agent streams a controller serves, one connection each (docs/agents.md). */
  maxConnections: 60_000,
  /** Each costs about 150 KB while it lasts: about 150 MB at the cap. */
  maxPendingHandshakes: 1_024,
  /** HTTP/2 streams one connection may hold open (grpc-go's MaxConcurrentStreams): an agent holds one, a peer or ctl a few. */
  maxStreamsPerConnection: 1_024,
  raftHeartbeatIntervalMs: 100,
  raftElectionTimeoutMs: 1_000,
  snapshotThreshold: 10_000,
  /** The log lives in memory until a snapshot: at most this much of it, whatever the entries' sizes. */
  snapshotThresholdBytes: 16 * 1024 * 1024,
  maxInflight: 256,
  initialElectionAdvance: true,
  maxMessageBytes: 4 * 1024 * 1024,
} as const;

/** The adaptive timeout never drops below the configured base unless asked to. */
export const defaultMinTimeoutMs = (baseMs: number): number => baseMs;

/** Room for the RTT term to grow during a slow spell without declaring the node dead. */
export const defaultMaxTimeoutMs = (baseMs: number): number => 4 * baseMs;

/**
 * Four heartbeats per base timeout, but not more often than 20/s nor less than 2/s. Pings go to
 * every peer, so their cost grows with n^2; four per timeout still leave a gap of one interval
 * plus jitter far below the timeout, and halved an idle member's CPU against eight.
 */
export const defaultHeartbeatIntervalMs = (baseMs: number): number => Math.min(500, Math.max(50, Math.round(baseMs / 4)));

/** Keep enough log after a snapshot for a briefly lagging follower, never more than a snapshot's worth. */
export const defaultTrailingLogs = (snapshotThreshold: number): number => Math.min(5_000, snapshotThreshold);
