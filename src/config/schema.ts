/**
 * The YAML as written (snake_case keys), checked key by key. Every object is strict so a typo
 * is refused instead of silently ignored. Defaults and checks that relate two keys live in
 * resolve.ts, which needs to know which values were written and which were defaulted.
 */
import { z } from 'zod';
import { DurationError, formatDuration, parseDuration } from './duration.js';
import { MIN_PEER_MESSAGE_BYTES } from '../limits/entry-size.js';
import { parseHostPort } from './host-port.js';
import { LOG_LEVELS } from './types.js';

export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** NODE_ID_PATTERN in words, for the messages that refuse an id. */
export const NODE_ID_RULE = `1-63 letters, digits, '_', '.' or '-' starting with a letter or digit`;

/** setTimeout fires at once for delays above 2^31-1 ms, so a timer longer than that is impossible. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A YAML value in words, for reasons: `the number 100`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

/** A positive duration in ms; `maxMs` bounds durations that become timers. */
/** A floor for a duration, and why a shorter one is a mistake rather than a policy. */
interface DurationFloor {
  readonly minMs: number;
  readonly why: string;
}

function duration(maxMs: number = MAX_TIMER_MS, floor: DurationFloor | null = null) {
  return z.unknown().transform((value, ctx): number => {
    const problem = (message: string): number => {
      ctx.issues.push({ code: 'custom', message, input: value });
      return z.NEVER;
    };
    if (typeof value === 'number') {
      return problem(`expected a duration with a unit (e.g. ${value}ms or ${value}s), found the number ${value}`);
    }
    if (typeof value !== 'string') {
      return problem(`expected a duration such as 100ms, 2s or 1m, found ${describeValue(value)}`);
    }
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (err) {
      if (err instanceof DurationError) return problem(err.message);
      throw err;
    }
    if (ms <= 0) return problem(`expected a positive duration, found ${JSON.stringify(value)}`);
    if (floor !== null && ms < floor.minMs) return problem(`expected at least ${formatDuration(floor.minMs)}, found ${JSON.stringify(value)}: ${floor.why}`);
    if (ms > maxMs) {
      const days = Math.floor(maxMs / 86_400_000);
      return problem(`expected at most ${maxMs}ms (about ${days} days), found ${JSON.stringify(value)}`);
    }
    return ms;
  });
}

const hostPort = z.string().check((ctx) => {
  const parsed = parseHostPort(ctx.value);
  if (!parsed.ok) ctx.issues.push({ code: 'custom', message: parsed.reason, input: ctx.value });
});

/** zod's int() also refuses whole numbers beyond 2^53 (1e20): those are too large, not fractions. */
function notWhole(input: unknown, max: number): string {
  return Number.isInteger(input) ? `expected at most ${max}, found ${describeValue(input)}` : `expected a whole number, found ${describeValue(input)}`;
}

function int(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .number()
    .int({ error: (issue) => notWhole(issue.input, max) })
    .min(min, { error: (issue) => `expected at least ${min}, found ${describeValue(issue.input)}` })
    .max(max, { error: (issue) => `expected at most ${max}, found ${describeValue(issue.input)}` });
}

/** Node ids and the cluster name end up in paths, metric labels and log lines: keep them plain. */
function identifier(what: string) {
  return z.string().regex(NODE_ID_PATTERN, {
    error: (issue) => `expected ${what} of ${NODE_ID_RULE}, found ${describeValue(issue.input)}`,
  });
}

const nodeId = identifier('an id');

const node = z.strictObject({
  id: nodeId,
  address: hostPort,
  listen: hostPort.optional(),
  metrics: hostPort.nullish(),
});

const heartbeat = z.strictObject({
  base_timeout: duration().optional(),
  dynamic_adjustment: z.boolean().optional(),
  rtt_window: int(1, 10_000).optional(),
  min_timeout: duration().optional(),
  max_timeout: duration().optional(),
  interval: duration().optional(),
  /** Seed-compatible location; controller.state_sync_interval is the other. */
  state_sync_interval: duration().optional(),
});

const audit = z.strictObject({
  max_events: int(1).optional(),
  // Retention age is compared with timestamps, never armed as a timer, so it may exceed 24 days.
  max_age: duration(Number.MAX_SAFE_INTEGER, { minMs: 60_000, why: 'the trail would drop every event almost as soon as it is written' }).optional(),
});

/** The largest controller.quota_bytes: a snapshot is one JSON text, and V8's strings end at 512 MiB. */
export const MAX_QUOTA_BYTES = 384 * 1024 * 1024;
/** The largest controller.max_mesh_bytes: a full push must fit one gRPC message (64 MiB) with room to spare. */
export const MAX_MESH_BYTES = 48 * 1024 * 1024;

const controller = z.strictObject({
  data_dir: z.string().min(1, { error: 'expected a directory path, found an empty string' }).optional(),
  heartbeat: heartbeat.nullish(),
  state_sync_interval: duration().optional(),
  log_level: z
    .enum(LOG_LEVELS, { error: (issue) => `expected one of ${LOG_LEVELS.join(', ')}, found ${describeValue(issue.input)}` })
    .optional(),
  audit: audit.nullish(),
  // Compared with timestamps, never armed as a timer, so it may exceed 24 days.
  resources_cache_ttl: duration(Number.MAX_SAFE_INTEGER).optional(),
  // Likewise compared with timestamps (Consul's reconnect_timeout; 72 h by default).
  agent_reconnect_timeout: duration(Number.MAX_SAFE_INTEGER).optional(),
  // A snapshot is one JSON text, and V8's strings end at 512 MiB: room is left for the rest.
  quota_bytes: int(1024 * 1024, MAX_QUOTA_BYTES).optional(),
  // 0 turns the leader's free-disk check off (src/api/disk-floor.ts).
  min_free_disk_bytes: int(0, Number.MAX_SAFE_INTEGER).optional(),
  // A full push serializes the whole mesh on the serving controller's event loop.
  max_mesh_bytes: int(64 * 1024, MAX_MESH_BYTES).optional(),
  // The gRPC port's caps (src/transport/connection-caps.ts).
  // Each peer holds a connection, and ctl and every agent one more: fewer than 16 is a typo.
  max_connections: int(16, 1_000_000).optional(),
  max_pending_handshakes: int(1, 1_000_000).optional(),
  // A peer holds a few streams on its connection (its Step stream, pings, a snapshot), ctl a few more.
  max_streams_per_connection: int(16, 1_000_000).optional(),
});

const raft = z.strictObject({
  heartbeat_interval: duration().optional(),
  election_timeout: duration().optional(),
  snapshot_threshold: int(10).optional(),
  // At least 1 MiB: below the largest entry, every entry would take a snapshot of its own.
  snapshot_threshold_bytes: int(1024 * 1024).optional(),
  trailing_logs: int(0).optional(),
  initial_election_advance: z.boolean().optional(),
  max_inflight: int(1, 65_536).optional(),
  // At least 1 MiB, so that writes of the largest entry's size do not go one at a time.
  max_uncommitted_bytes: int(1024 * 1024).optional(),
  // gRPC message limits are signed 32-bit. Below the largest entry with its framing, a value
  // the API accepted could never be sent to a follower, and every later write would wait on it.
  max_message_bytes: z
    .number()
    .int({ error: (issue) => notWhole(issue.input, 2 ** 31 - 1) })
    .min(MIN_PEER_MESSAGE_BYTES, {
      error: (issue) =>
        `expected at least ${MIN_PEER_MESSAGE_BYTES} (the largest entry, a 1 MiB value with its key, plus framing), found ${describeValue(issue.input)}`,
    })
    .max(2 ** 31 - 1, { error: (issue) => `expected at most ${2 ** 31 - 1}, found ${describeValue(issue.input)}` })
    .optional(),
});

const filePath = z.string().min(1, { error: 'expected a file path, found an empty string' });
const tls = z.strictObject({
  ca: filePath,
  cert: filePath,
  key: filePath,
  /** A second CA whose certificates may call the client API only (operators, agents). */
  client_ca: filePath.optional(),
  /** A CA whose certificates may open agent streams only (agents, and nothing else). */
  agent_ca: filePath.optional(),
  /** Serve /metrics over HTTPS with this node's certificate. */
  metrics: z.boolean().optional(),
  /** With `metrics`: a CA whose certificates a scraper must present to read /metrics. */
  metrics_client_ca: filePath.optional(),
  /** PEM certificate revocation lists checked on every incoming TLS connection (one per client-certificate CA). */
  crl: filePath.optional(),
});

/**
 * Cluster-wide settings (src/settings/keys.ts) are checked by their own codecs in resolve.ts,
 * so that the file, `ctl config set` and the log share one parser; here only the key names.
 */
function settingsSection<K extends string>(keys: readonly K[]) {
  return z.strictObject(Object.fromEntries(keys.map((k) => [k, z.unknown().optional()])) as Record<K, z.ZodOptional<z.ZodUnknown>>);
}

export const rawConfigSchema = z.strictObject({
  cluster: z.strictObject({
    name: identifier('a name').optional(),
    nodes: z.array(node).min(1, { error: 'expected at least one node' }),
    preferred_leader: z.unknown().optional(),
  }),
  // `controller:` with everything beneath commented out parses as null; treat it as absent.
  controller: controller.nullish(),
  raft: raft.nullish(),
  tls: tls.nullish(),
  services: settingsSection(['vip_cidr', 'vip_quarantine', 'agent_publish']).nullish(),
  agents: settingsSection(['dependency_ttl']).nullish(),
  autopilot: settingsSection([
    'last_contact_threshold',
    'max_trailing_logs',
    'server_stabilization_time',
    'promote_learners',
    'cleanup_dead_servers',
    'dead_server_threshold',
    'min_quorum',
  ]).nullish(),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
