/**
 * `ctl config get|set`: the cluster-wide settings (src/settings/keys.ts). A get reads this
 * node's applied state after a linearizable barrier, so it never shows a value older than one
 * already set. A set is parsed where it arrives (a typo is refused without a round trip), then
 * checked on the leader against the other settings and the cluster's voters, and proposed only
 * when it changes something: repeating a set writes nothing.
 */
import { SETTINGS, SETTING_KEYS, formatSetting, isSettingKey, preferredLeaderProblem, settingsProblems, type ClusterSettings, type SettingKey } from '../settings/index.js';
import { clusterKind, encodeCommand, type StateMachine } from '../statemachine/index.js';
import { setCommand, settingsKind } from '../statemachine/settings.js';
import type { ConsensusPort } from './consensus-port.js';
import type { OnLeader } from './on-leader.js';
import { quoteKey } from './request-key.js';
import { ServiceFailure } from './service-error.js';

export interface SettingMsg {
  readonly key: string;
  readonly value: string;
  readonly defaultValue: string;
  readonly help: string;
}

export interface ConfigGetResponseMsg {
  readonly settings: readonly SettingMsg[];
  readonly initialized: boolean;
  readonly answeredBy: string;
}

export interface ConfigSetRequestMsg {
  readonly key: string;
  readonly value: string;
  readonly forwarded: boolean;
}

export interface ConfigSetResponseMsg {
  readonly key: string;
  readonly value: string;
  readonly changed: boolean;
}

export interface ConfigOps {
  get(req: { readonly key: string }, deadline: number): Promise<ConfigGetResponseMsg>;
  set(req: ConfigSetRequestMsg, deadline: number): Promise<ConfigSetResponseMsg>;
}

function knownKey(key: string): SettingKey {
  if (!isSettingKey(key)) throw new ServiceFailure('INVALID_ARGUMENT', `unknown setting ${quoteKey(key)}; the settings are ${SETTING_KEYS.join(', ')}`);
  return key;
}

function parseInput<K extends SettingKey>(key: K, input: string): ClusterSettings[K] {
  const parsed = SETTINGS[key].codec.fromInput(input);
  if (!parsed.ok) throw new ServiceFailure('INVALID_ARGUMENT', `${key}: ${parsed.reason}`);
  return parsed.value;
}

function row<K extends SettingKey>(key: K, values: ClusterSettings): SettingMsg {
  return { key, value: formatSetting(key, values[key]), defaultValue: SETTINGS[key].defaultText, help: SETTINGS[key].help };
}

/** `heartbeatIntervalMs`: this node's raft.heartbeat_interval; as leader it judges health by it. */
export function configOps(id: string, host: ConsensusPort, sm: StateMachine, onLeader: OnLeader, heartbeatIntervalMs: number): ConfigOps {
  const view = () => sm.view(settingsKind);

  /** The refusal of a key newer than the cluster's version (as applied here); null: it may be set. */
  function tooNew(key: SettingKey): ServiceFailure | null {
    const since = SETTINGS[key].since;
    const cluster = sm.view(clusterKind);
    if (since === undefined || cluster.supports(since)) return null;
    return new ServiceFailure('FAILED_PRECONDITION', `${key}: needs cluster version ${since}, and the cluster is at ${cluster.version}: upgrade every controller to ${since}.x or later (the leader then raises the version; ctl status shows it)`);
  }

  async function propose<K extends SettingKey>(key: K, value: ClusterSettings[K], remaining: number): Promise<ConfigSetResponseMsg> {
    const current = view();
    if (!current.initialized) throw new ServiceFailure('NO_LEADER', 'cluster settings are not written yet (the first leader writes them); retry');
    const early = tooNew(key);
    if (early !== null) throw early;
    const proposed: ClusterSettings = { ...current.all(), [key]: value };
    const voters = host.status().conf.voters.length;
    const problem = settingsProblems(proposed, { voters, heartbeatIntervalMs })[0];
    if (problem !== undefined) throw new ServiceFailure('INVALID_ARGUMENT', `${problem.key}: ${problem.reason}`);
    const members = sm.members.list().map((m) => m.id);
    const notMember = preferredLeaderProblem(proposed['cluster.preferred_leader'], members, 'a member');
    if (key === 'cluster.preferred_leader' && notMember !== null) throw new ServiceFailure('UNKNOWN_NODE', `cluster.preferred_leader: ${notMember}`);
    if (key === 'cluster.preferred_leader' && value !== null && host.status().conf.learners.includes(String(value))) {
      throw new ServiceFailure('FAILED_PRECONDITION', `cluster.preferred_leader: ${String(value)} is a learner, and only a voter can lead; promote it first (ctl member promote ${String(value)})`);
    }
    const shown = formatSetting(key, value);
    if (formatSetting(key, current.get(key)) === shown) return { key, value: shown, changed: false };
    const result = await host.propose(encodeCommand(setCommand(key, value)), remaining);
    if (!result.ok) throw new ServiceFailure(result.code === 'CONFLICT' ? 'NO_LEADER' : 'INTERNAL', result.message);
    return { key, value: shown, changed: true };
  }

  return {
    async get(req, deadline) {
      const only = req.key === '' ? null : knownKey(req.key);
      await host.readBarrier(Math.max(1, deadline - Date.now()));
      const v = view();
      const values = v.all();
      const keys = only === null ? SETTING_KEYS : [only];
      return { settings: keys.map((k) => row(k, values)), initialized: v.initialized, answeredBy: id };
    },

    async set(req, deadline) {
      const key = knownKey(req.key);
      const value = parseInput(key, req.value);
      // Checked where it arrives as well as on the leader: during a rolling upgrade the leader may
      // run a version that does not know the key, and would answer "unknown setting" (exit 2).
      // Refused only once this node has caught up with the leader (it may lag behind the raise).
      if (tooNew(key) !== null) {
        await host.readBarrier(Math.max(1, deadline - Date.now()));
        const early = tooNew(key);
        if (early !== null) throw early;
      }
      return onLeader('configSet', req, deadline, (remaining) => propose(key, value, remaining));
    },
  };
}
