/**
 * Cluster-wide settings: values every replica must agree on because replicated logic reads them
 * (virtual IP allocation, autopilot, the preferred leader, dependency expiry). They live in the
 * log, not in each node's file: the bootstrapping file's values are written once, `ctl config
 * set` changes them, and a node whose file disagrees runs with the log's values.
 *
 * One table describes each key: its type, its default and what it does. The YAML schema,
 * `ctl config`, the state machine and docs/reference.md all follow it.
 */
import { DECLARED_PUBLISH_VERSION } from '../statemachine/cluster-version.js';
import { choiceCodec, countCodec, durationCodec, flagCodec, optionalMemberCodec, vipCidrCodec, type SettingCodec } from './codecs.js';

export interface ClusterSettings {
  readonly 'services.vip_cidr': string;
  readonly 'services.vip_quarantine': number;
  readonly 'services.agent_publish': AgentPublish;
  readonly 'agents.dependency_ttl': number;
  readonly 'cluster.preferred_leader': string | null;
  readonly 'autopilot.last_contact_threshold': number;
  readonly 'autopilot.max_trailing_logs': number;
  readonly 'autopilot.server_stabilization_time': number;
  readonly 'autopilot.promote_learners': boolean;
  readonly 'autopilot.cleanup_dead_servers': boolean;
  readonly 'autopilot.dead_server_threshold': number;
  readonly 'autopilot.min_quorum': number;
}

export type SettingKey = keyof ClusterSettings;

/**
 * Which services an agent's publish may serve: `open`, any (one no operator applied is created,
 * the first publisher's); `declared`, only those an operator applied (mesh-publish.ts).
 */
export type AgentPublish = 'open' | 'declared';

/** What a default may depend on: the bootstrapping node's own Raft timing. */
export interface DefaultContext {
  readonly electionTimeoutMs: number;
}

export interface SettingDefinition<K extends SettingKey> {
  readonly key: K;
  readonly codec: SettingCodec<ClusterSettings[K]>;
  readonly defaultValue: (ctx: DefaultContext) => ClusterSettings[K];
  /** How the default is derived, for docs and help (e.g. "2 x raft.election_timeout"). */
  readonly defaultText: string;
  readonly help: string;
  /**
   * The cluster version from which the log may hold the key (absent: from the start). Older
   * members refuse it, so it is set only from that level, is not read from the file (a new
   * cluster writes its file's values before its version is raised), and an init or a snapshot
   * carries it only when it is not at its default (which must not depend on DefaultContext).
   */
  readonly since?: string;
}

type Definitions = { readonly [K in SettingKey]: SettingDefinition<K> };

export const SETTINGS: Definitions = {
  'services.vip_cidr': {
    key: 'services.vip_cidr',
    codec: vipCidrCodec,
    defaultValue: () => '241.0.0.0/8',
    defaultText: '241.0.0.0/8',
    help: 'the range virtual IPs of services are allocated from',
  },
  'services.vip_quarantine': {
    key: 'services.vip_quarantine',
    codec: durationCodec(0),
    defaultValue: () => 3_600_000,
    defaultText: '1h',
    help: "how long a deleted service's virtual IP is kept from other services",
  },
  'services.agent_publish': {
    key: 'services.agent_publish',
    codec: choiceCodec<AgentPublish>(['open', 'declared']),
    defaultValue: () => 'open',
    defaultText: 'open',
    help: "declared: an agent's publish only joins services an operator applied (ctl apply, label mesh/allowed-agents) and creates none; open: an agent may create a service no one applied",
    since: DECLARED_PUBLISH_VERSION,
  },
  'agents.dependency_ttl': {
    key: 'agents.dependency_ttl',
    codec: durationCodec(1_000),
    defaultValue: () => 600_000,
    defaultText: '10m',
    help: 'an observed dependency unused for one window is expiring, for two expired',
  },
  'cluster.preferred_leader': {
    key: 'cluster.preferred_leader',
    codec: optionalMemberCodec,
    defaultValue: () => null,
    defaultText: 'none',
    help: 'the member leadership moves to whenever it is healthy and caught up',
  },
  'autopilot.last_contact_threshold': {
    key: 'autopilot.last_contact_threshold',
    codec: durationCodec(1),
    defaultValue: (ctx) => 2 * ctx.electionTimeoutMs,
    defaultText: '2 x raft.election_timeout',
    help: 'a member not heard from by the leader within this is unhealthy; at least 2 x the leader\'s raft.heartbeat_interval',
  },
  'autopilot.max_trailing_logs': {
    key: 'autopilot.max_trailing_logs',
    // Below 10 a follower is unhealthy whenever a batch is in flight; past 100,000 a learner
    // still far behind (installing a snapshot) would count as caught up and be promoted.
    codec: countCodec(0, Number.MAX_SAFE_INTEGER, { min: 10, max: 100_000, why: 'fewer marks followers unhealthy whenever a batch of entries is in flight; more lets a learner far behind count as caught up and be promoted' }),
    defaultValue: () => 250,
    defaultText: '250',
    help: 'a member more entries behind the leader than this is unhealthy',
  },
  'autopilot.server_stabilization_time': {
    key: 'autopilot.server_stabilization_time',
    codec: durationCodec(0),
    defaultValue: () => 10_000,
    defaultText: '10s',
    help: 'how long a learner must stay healthy before it is promoted',
  },
  'autopilot.promote_learners': {
    key: 'autopilot.promote_learners',
    codec: flagCodec,
    defaultValue: () => false,
    defaultText: 'false',
    help: 'promote learners added with --learner once stable (a plain `member add` always is)',
  },
  'autopilot.cleanup_dead_servers': {
    key: 'autopilot.cleanup_dead_servers',
    codec: flagCodec,
    defaultValue: () => false,
    defaultText: 'false',
    help: 'remove voters offline longer than dead_server_threshold, within min_quorum',
  },
  'autopilot.dead_server_threshold': {
    key: 'autopilot.dead_server_threshold',
    // Vault refuses less than a minute too (hashicorp/vault#22040). The log keeps 1 s as valid:
    // older versions accepted it, and every replica must apply what is committed alike.
    codec: durationCodec(1_000, {
      minMs: 60_000,
      why: 'shorter than a restart or a long pause takes, which would remove a healthy voter for good (it comes back only rebuilt)',
    }),
    defaultValue: () => 24 * 3_600_000,
    defaultText: '24h',
    help: 'how long a voter must be offline before cleanup removes it',
  },
  'autopilot.min_quorum': {
    key: 'autopilot.min_quorum',
    codec: countCodec(0, 1_000),
    defaultValue: () => 0,
    defaultText: '0',
    // Consul's MinQuorum: a floor for pruning only. Above the voter count it is a size the cluster
    // is meant to grow to, so it is accepted (manual removals would break any tighter rule).
    help:
      'autopilot cleanup removes a dead voter only while at least this many voters remain; ' +
      'above the voter count, cleanup removes nothing (ctl member remove is not limited)',
  },
};

export const SETTING_KEYS: readonly SettingKey[] = (Object.keys(SETTINGS) as SettingKey[]).sort();

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/** Builds a complete ClusterSettings from one function of the key (the compiler checks every key is here). */
export function mapSettings(value: <K extends SettingKey>(key: K) => ClusterSettings[K]): ClusterSettings {
  return {
    'services.vip_cidr': value('services.vip_cidr'),
    'services.vip_quarantine': value('services.vip_quarantine'),
    'services.agent_publish': value('services.agent_publish'),
    'agents.dependency_ttl': value('agents.dependency_ttl'),
    'cluster.preferred_leader': value('cluster.preferred_leader'),
    'autopilot.last_contact_threshold': value('autopilot.last_contact_threshold'),
    'autopilot.max_trailing_logs': value('autopilot.max_trailing_logs'),
    'autopilot.server_stabilization_time': value('autopilot.server_stabilization_time'),
    'autopilot.promote_learners': value('autopilot.promote_learners'),
    'autopilot.cleanup_dead_servers': value('autopilot.cleanup_dead_servers'),
    'autopilot.dead_server_threshold': value('autopilot.dead_server_threshold'),
    'autopilot.min_quorum': value('autopilot.min_quorum'),
  };
}

export function defaultSettings(ctx: DefaultContext): ClusterSettings {
  return mapSettings((key) => SETTINGS[key].defaultValue(ctx));
}

/** The value of `key` in its canonical display form. */
export function formatSetting<K extends SettingKey>(key: K, value: ClusterSettings[K]): string {
  return SETTINGS[key].codec.format(value);
}
