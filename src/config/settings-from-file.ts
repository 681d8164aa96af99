/**
 * The cluster-wide settings a file writes (services.*, agents.*, autopilot.*,
 * cluster.preferred_leader), read with the same codecs `ctl config set` and the log use.
 * A node proposes them when it is the cluster's first leader; afterwards the log's values rule
 * and a differing file only earns a warning at start.
 */
import { SETTINGS, SETTING_KEYS, mapSettings, preferredLeaderProblem, settingsProblems, type ClusterSettings, type SettingKey } from '../settings/index.js';
import type { LocatedProblem } from './issues.js';
import type { RawConfig } from './schema.js';
import type { RaftSettings } from './types.js';

export interface FileSettings {
  /** Every key: what the file wrote, else the default. */
  readonly values: ClusterSettings;
  /** The keys the file wrote explicitly. */
  readonly written: readonly SettingKey[];
}

/** Where a key sits in the YAML: `services.vip_cidr` -> services: { vip_cidr }. */
function yamlPath(key: SettingKey): [string, string] {
  const [section = '', name = ''] = key.split('.');
  return [section, name];
}

function writtenValue(raw: RawConfig, key: SettingKey): unknown {
  const [section, name] = yamlPath(key);
  const blocks: Readonly<Record<string, Readonly<Record<string, unknown>> | null | undefined>> = {
    cluster: raw.cluster,
    services: raw.services,
    agents: raw.agents,
    autopilot: raw.autopilot,
  };
  return blocks[section]?.[name];
}

/** `raft` is this file's Raft timing: defaults derive from it and the rules compare with it. */
export function settingsFromFile(raw: RawConfig, raft: Pick<RaftSettings, 'electionTimeoutMs' | 'heartbeatIntervalMs'>, problems: LocatedProblem[]): FileSettings {
  const { electionTimeoutMs, heartbeatIntervalMs } = raft;
  const written: SettingKey[] = [];
  const values = mapSettings((key) => {
    const def = SETTINGS[key];
    const fallback = def.defaultValue({ electionTimeoutMs });
    const input = writtenValue(raw, key);
    if (input === undefined) return fallback;
    if (def.since !== undefined) {
      // Written by the first leader before the cluster's version is raised, when a member that
      // refuses the key may still be among the bootstrapping ones: set once the cluster is at it.
      problems.push({ path: yamlPath(key), reason: `is set with \`ctl config set ${key} VALUE\` (cluster version ${def.since} or later), not in the file: a new cluster writes its file's settings before its version is raised` });
      return fallback;
    }
    const parsed = def.codec.fromInput(input);
    if (!parsed.ok) {
      problems.push({ path: yamlPath(key), reason: parsed.reason });
      return fallback;
    }
    written.push(key);
    return parsed.value;
  });
  for (const p of settingsProblems(values, { voters: raw.cluster.nodes.length, heartbeatIntervalMs })) {
    // The threshold's default (2 x election_timeout) is under its floor (2 x heartbeat_interval)
    // only with an election timeout under one heartbeat interval, which the Raft timing rules
    // refuse at raft.election_timeout: that is the cause, not a key the file never wrote.
    if (p.key === 'autopilot.last_contact_threshold' && !written.includes(p.key)) continue;
    problems.push({ path: yamlPath(p.key), reason: p.reason });
  }
  // The file's nodes are the members the cluster starts with: `ctl config set` refuses a
  // non-member, and bootstrap must not write one either.
  const ids = raw.cluster.nodes.map((n) => n.id);
  const preferred = preferredLeaderProblem(values['cluster.preferred_leader'], ids, 'one of cluster.nodes');
  if (preferred !== null) problems.push({ path: yamlPath('cluster.preferred_leader'), reason: preferred });
  return { values, written: SETTING_KEYS.filter((k) => written.includes(k)) };
}
