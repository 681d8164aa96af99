/**
 * From the checked YAML to a ClusterConfig: applies defaults (some derived from other keys)
 * and refuses combinations that cannot work. A problem is reported at the key the operator
 * wrote, or at the key whose default is at fault when they wrote neither.
 */
import path from 'node:path';
import {
  DEFAULTS,
  defaultHeartbeatIntervalMs,
  defaultMaxTimeoutMs,
  defaultMinTimeoutMs,
  defaultTrailingLogs,
} from './defaults.js';
import { formatDuration } from './duration.js';
import type { LocatedProblem, PathSegment } from './issues.js';
import { checkNodes } from './node-checks.js';
import { raftTimingProblems } from './raft-timing.js';
import { settingsFromFile } from './settings-from-file.js';
import type { RawConfig } from './schema.js';
import type { ClusterConfig, HeartbeatConfig, NodeEntry, RaftSettings, TlsConfig } from './types.js';

export type Resolved =
  | { readonly ok: true; readonly config: ClusterConfig }
  | { readonly ok: false; readonly problems: readonly LocatedProblem[] };

/** `file` is absolute; relative TLS paths are resolved against its directory. */
export function resolveConfig(raw: RawConfig, file: string): Resolved {
  const problems: LocatedProblem[] = [...checkNodes(raw.cluster.nodes)];
  const controller = raw.controller ?? {};

  const heartbeat = resolveHeartbeat(raw, problems);
  const raft = resolveRaft(raw, problems);
  const settings = settingsFromFile(raw, raft, problems);

  const syncInHeartbeat = controller.heartbeat?.state_sync_interval;
  if (syncInHeartbeat !== undefined && controller.state_sync_interval !== undefined) {
    problems.push({
      path: ['controller', 'state_sync_interval'],
      reason: 'ambiguous: state_sync_interval is set both here and in controller.heartbeat; keep one',
    });
  }

  // Below a second, a restarting agent would lose its record (and its pushes count) to a blip.
  const reconnect = controller.agent_reconnect_timeout;
  if (reconnect !== undefined && reconnect < 1_000) {
    problems.push({ path: ['controller', 'agent_reconnect_timeout'], reason: `must be at least 1s, found ${formatDuration(reconnect)}` });
  }

  const dataDirTemplate = controller.data_dir ?? DEFAULTS.dataDir;
  const placeholder = /\$\{(?!id\})[^}]*\}/.exec(dataDirTemplate);
  if (placeholder !== null) {
    problems.push({
      path: ['controller', 'data_dir'],
      reason: `unknown placeholder ${placeholder[0]}; the only placeholder is \${id}`,
    });
  }
  // A shell would expand these; this file is not read by one, so they would name directories
  // called '~' or '$HOME' beside the config file (attack round 10).
  const shellLike = /^~(?=\/|$)|\$(?!\{)[A-Za-z_]/.exec(dataDirTemplate);
  if (placeholder === null && shellLike !== null) {
    problems.push({
      path: ['controller', 'data_dir'],
      reason: `${JSON.stringify(dataDirTemplate)} would be taken literally (${JSON.stringify(shellLike[0])} is not expanded: no shell reads this file); write the directory out, e.g. /var/lib/controller/\${id}`,
    });
  }

  // A controller's certificate names its member (docs/deploy.md), so one shared file may point
  // each node at its own: cert: /etc/controller/tls/${id}.crt.
  for (const key of ['ca', 'cert', 'key', 'client_ca', 'agent_ca', 'metrics_client_ca', 'crl'] as const) {
    const value = raw.tls?.[key];
    const bad = value === undefined ? null : /\$\{(?!id\})[^}]*\}/.exec(value);
    if (bad) problems.push({ path: ['tls', key], reason: `unknown placeholder ${bad[0]}; the only placeholder is \${id}` });
  }

  // Without tls.metrics /metrics is plain HTTP, which cannot ask for a certificate.
  if (raw.tls?.metrics_client_ca !== undefined && raw.tls.metrics !== true) {
    problems.push({ path: ['tls', 'metrics_client_ca'], reason: 'asks scrapers for a certificate over HTTPS, so it needs tls.metrics: true' });
  }

  if (problems.length > 0) return { ok: false, problems };

  const baseDir = path.dirname(file);
  const tls: TlsConfig | null =
    raw.tls === undefined || raw.tls === null
      ? null
      : {
          ca: path.resolve(baseDir, raw.tls.ca),
          cert: path.resolve(baseDir, raw.tls.cert),
          key: path.resolve(baseDir, raw.tls.key),
          clientCa: raw.tls.client_ca === undefined ? null : path.resolve(baseDir, raw.tls.client_ca),
          agentCa: raw.tls.agent_ca === undefined ? null : path.resolve(baseDir, raw.tls.agent_ca),
          metrics: raw.tls.metrics ?? false,
          metricsClientCa: raw.tls.metrics_client_ca === undefined ? null : path.resolve(baseDir, raw.tls.metrics_client_ca),
          crl: raw.tls.crl === undefined ? null : path.resolve(baseDir, raw.tls.crl),
        };
  const nodes: NodeEntry[] = raw.cluster.nodes.map((n) => ({
    id: n.id,
    address: n.address,
    listen: n.listen ?? n.address,
    metrics: n.metrics ?? null,
  }));
  return {
    ok: true,
    config: {
      file,
      clusterName: raw.cluster.name ?? DEFAULTS.clusterName,
      nodes,
      dataDirTemplate,
      heartbeat,
      stateSyncIntervalMs: syncInHeartbeat ?? controller.state_sync_interval ?? DEFAULTS.stateSyncIntervalMs,
      auditRetention: {
        maxEvents: controller.audit?.max_events ?? DEFAULTS.auditMaxEvents,
        maxAgeMs: controller.audit?.max_age ?? DEFAULTS.auditMaxAgeMs,
      },
      resourcesCacheTtlMs: controller.resources_cache_ttl ?? DEFAULTS.resourcesCacheTtlMs,
      agentReconnectTimeoutMs: controller.agent_reconnect_timeout ?? DEFAULTS.agentReconnectTimeoutMs,
      quotaBytes: controller.quota_bytes ?? DEFAULTS.quotaBytes,
      minFreeDiskBytes: controller.min_free_disk_bytes ?? DEFAULTS.minFreeDiskBytes,
      maxMeshBytes: controller.max_mesh_bytes ?? DEFAULTS.maxMeshBytes,
      maxConnections: controller.max_connections ?? DEFAULTS.maxConnections,
      maxPendingHandshakes: controller.max_pending_handshakes ?? DEFAULTS.maxPendingHandshakes,
      maxStreamsPerConnection: controller.max_streams_per_connection ?? DEFAULTS.maxStreamsPerConnection,
      raft,
      tls,
      logLevel: controller.log_level ?? DEFAULTS.logLevel,
      settings,
    },
  };
}

const HB: readonly PathSegment[] = ['controller', 'heartbeat'];

function resolveHeartbeat(raw: RawConfig, problems: LocatedProblem[]): HeartbeatConfig {
  const hb = raw.controller?.heartbeat ?? {};
  const baseTimeoutMs = hb.base_timeout ?? DEFAULTS.baseTimeoutMs;
  const intervalMs = hb.interval ?? defaultHeartbeatIntervalMs(baseTimeoutMs);
  const minTimeoutMs = hb.min_timeout ?? defaultMinTimeoutMs(baseTimeoutMs);
  const maxTimeoutMs = hb.max_timeout ?? defaultMaxTimeoutMs(baseTimeoutMs);
  const shown = (ms: number, written: number | undefined, derivation: string): string =>
    `${formatDuration(ms)}${written === undefined ? ` (default: ${derivation})` : ''}`;
  const interval = shown(intervalMs, hb.interval, 'base_timeout/4 within 50ms..500ms');

  // A node must miss at least two heartbeats before it can be declared dead.
  if (baseTimeoutMs < 2 * intervalMs) {
    problems.push({
      path: [...HB, hb.interval !== undefined ? 'interval' : 'base_timeout'],
      reason: `base_timeout ${formatDuration(baseTimeoutMs)} must be at least 2 x heartbeat interval ${interval}`,
    });
  } else if (minTimeoutMs < 2 * intervalMs) {
    problems.push({
      path: [...HB, 'min_timeout'],
      reason: `min_timeout ${formatDuration(minTimeoutMs)} must be at least 2 x heartbeat interval ${interval}`,
    });
  }
  if (minTimeoutMs > maxTimeoutMs) {
    problems.push({
      path: [...HB, hb.min_timeout !== undefined ? 'min_timeout' : 'max_timeout'],
      reason:
        `min_timeout ${shown(minTimeoutMs, hb.min_timeout, 'base_timeout')} exceeds ` +
        `max_timeout ${shown(maxTimeoutMs, hb.max_timeout, '4 x base_timeout')}`,
    });
  }
  return {
    baseTimeoutMs,
    dynamicAdjustment: hb.dynamic_adjustment ?? DEFAULTS.dynamicAdjustment,
    rttWindow: hb.rtt_window ?? DEFAULTS.rttWindow,
    minTimeoutMs,
    maxTimeoutMs,
    intervalMs,
  };
}

/**
 * Eight of the largest messages: 32 MiB at the defaults, far above what ordinary writes hold
 * uncommitted, and about where a burst of 1 MB writes from one client (64 at once) began to cost
 * a leader its term on a 2-core host.
 */
function defaultMaxUncommittedBytes(maxMessageBytes: number): number {
  return 8 * maxMessageBytes;
}

function resolveRaft(raw: RawConfig, problems: LocatedProblem[]): RaftSettings {
  const r = raw.raft ?? {};
  const heartbeatIntervalMs = r.heartbeat_interval ?? DEFAULTS.raftHeartbeatIntervalMs;
  const electionTimeoutMs = r.election_timeout ?? DEFAULTS.raftElectionTimeoutMs;
  problems.push(...raftTimingProblems(heartbeatIntervalMs, electionTimeoutMs, r.election_timeout === undefined));
  const snapshotThreshold = r.snapshot_threshold ?? DEFAULTS.snapshotThreshold;
  return {
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotThreshold,
    snapshotThresholdBytes: r.snapshot_threshold_bytes ?? DEFAULTS.snapshotThresholdBytes,
    trailingLogs: r.trailing_logs ?? defaultTrailingLogs(snapshotThreshold),
    maxInflight: r.max_inflight ?? DEFAULTS.maxInflight,
    maxMessageBytes: r.max_message_bytes ?? DEFAULTS.maxMessageBytes,
    maxUncommittedBytes: r.max_uncommitted_bytes ?? defaultMaxUncommittedBytes(r.max_message_bytes ?? DEFAULTS.maxMessageBytes),
    initialElectionAdvance: r.initial_election_advance ?? DEFAULTS.initialElectionAdvance,
  };
}
