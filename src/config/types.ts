import type { FileSettings } from './settings-from-file.js';

/**
 * The resolved cluster config: every default applied, every duration in milliseconds, every
 * path absolute. Produced only by load.ts, so code holding one may trust it is consistent.
 */

export interface NodeEntry {
  readonly id: string;
  /** host:port that peers and clients dial. */
  readonly address: string;
  /** host:port to bind; defaults to `address` (differs when a proxy or NAT sits in between). */
  readonly listen: string;
  /** host:port of the Prometheus HTTP endpoint, or null for none. */
  readonly metrics: string | null;
}

/** The membership failure detector (not Raft's own heartbeats). */
export interface HeartbeatConfig {
  readonly baseTimeoutMs: number;
  /** true: timeout = base + 2 x moving-average RTT, clamped to [min, max]; false: exactly base. */
  readonly dynamicAdjustment: boolean;
  /** Samples in the RTT moving average; default 16. */
  readonly rttWindow: number;
  /** Floor of the adaptive timeout; default = base. */
  readonly minTimeoutMs: number;
  /** Ceiling of the adaptive timeout; default 4 x base. */
  readonly maxTimeoutMs: number;
  /** How often heartbeats are sent; default base/4 clamped to [50ms, 500ms]. */
  readonly intervalMs: number;
}

export interface RaftSettings {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** Applied entries since the last snapshot that trigger a new one. */
  readonly snapshotThreshold: number;
  /** Bytes of applied entries since the last snapshot that trigger a new one (or the last snapshot's size, if larger); default 16 MiB. */
  readonly snapshotThresholdBytes: number;
  /** Entries kept after a snapshot so slow followers can catch up without one; default min(5000, threshold). */
  readonly trailingLogs: number;
  /** Unacknowledged append messages per follower; default 256. */
  readonly maxInflight: number;
  /** Largest message sent or accepted; default 4 MiB. */
  readonly maxMessageBytes: number;
  /**
   * Bytes of entries the leader holds uncommitted before it refuses writes (RESOURCE_EXHAUSTED;
   * etcd's MaxUncommittedEntriesSize); default 8 x maxMessageBytes.
   */
  readonly maxUncommittedBytes: number;
  /**
   * Before any leader is known, count most of the first election timeout as passed once this
   * node and the peers it hears form a quorum (etcd's --initial-election-tick-advance); default true.
   */
  readonly initialElectionAdvance: boolean;
}

/**
 * Absolute paths (relative ones in the YAML are resolved against the YAML file's directory).
 * `ca` signed every controller's certificate: peers and clients verify servers with it, and
 * only its certificates carrying this cluster's peer URI may call peer RPCs. Client
 * certificates come from `ca` too, or from `clientCa` when set (never a peer's). With `agentCa`,
 * agents' certificates come from it, and its certificates open agent streams and nothing else.
 */
export interface TlsConfig {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A CA for client certificates only; null: clients' certificates come from `ca`. */
  readonly clientCa: string | null;
  /** A CA for agents' certificates only; null: agents are not told apart from operators. */
  readonly agentCa: string | null;
  /** Serve /metrics over HTTPS with `cert` and `key`; default false. */
  readonly metrics: boolean;
  /** With `metrics`: scrapers must present a certificate this CA signed; null: none asked for. */
  readonly metricsClientCa: string | null;
  /**
   * PEM CRLs checked at every incoming handshake (the gRPC port, and /metrics with
   * `metricsClientCa`); null: none. OpenSSL then refuses a client certificate whose issuing CA
   * has no CRL in the file, or whose CRL is past its nextUpdate.
   */
  readonly crl: string | null;
}

export interface AuditRetention {
  /** Default 100000. */
  readonly maxEvents: number;
  /** Default 7 days. */
  readonly maxAgeMs: number;
}

export interface ClusterConfig {
  /** Absolute path of the YAML file this came from. */
  readonly file: string;
  readonly clusterName: string;
  readonly nodes: readonly NodeEntry[];
  /** data_dir as written, `${id}` not yet substituted. */
  readonly dataDirTemplate: string;
  readonly heartbeat: HeartbeatConfig;
  /** How often the reconciler compares local and cluster state. */
  readonly stateSyncIntervalMs: number;
  readonly auditRetention: AuditRetention;
  /** How long the static figures of `ctl resources` (CPUs, flags, memory) are cached per member; default 24 h. */
  readonly resourcesCacheTtlMs: number;
  /** An agent offline this long is forgotten by the leader (its record, declaration, endpoints); default 72 h. */
  readonly agentReconnectTimeoutMs: number;
  /** The leader refuses writes that would take the state's snapshot past this many bytes (NO_SPACE); default 256 MiB. */
  readonly quotaBytes: number;
  /** The leader refuses writes that would leave its data dir's disk with less free than this (NO_SPACE); 0: never; default 64 MiB. */
  readonly minFreeDiskBytes: number;
  /** The leader refuses applies, and controllers hold back publishes, that would take the mesh's push JSON past this; default 16 MiB. */
  readonly maxMeshBytes: number;
  /** Connections the gRPC port holds at most; a new one past it is closed; default 60,000. */
  readonly maxConnections: number;
  /** Connections the gRPC port holds in their TLS handshake at most; past it the oldest is closed; default 1,024. */
  readonly maxPendingHandshakes: number;
  /** HTTP/2 streams one connection to the gRPC port may hold open; past it the client waits or is refused the stream; default 1,024. */
  readonly maxStreamsPerConnection: number;
  readonly raft: RaftSettings;
  readonly tls: TlsConfig | null;
  /** A pino level; default 'info'. */
  readonly logLevel: LogLevel;
  /** Cluster-wide settings as this file writes them; the log's values rule once written. */
  readonly settings: FileSettings;
}

export interface NodeConfig extends ClusterConfig {
  readonly self: NodeEntry;
  /** dataDirTemplate with `${id}` substituted, resolved against the process cwd. */
  readonly dataDir: string;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
