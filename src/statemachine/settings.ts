/**
 * The settings kind: the cluster-wide settings (src/settings/keys.ts) as replicated state.
 *
 * `init` writes a complete set once, proposed by the cluster's first leader from its own file
 * (as etcd's leader decides the cluster version); later inits change nothing, so every
 * bootstrapping member may try and exactly one wins. `set` changes one key afterwards. Values
 * travel in their canonical JSON form and are decoded strictly on every replica.
 *
 * Settings are not resources: changing one does not advance the cluster revision.
 */
import {
  SETTINGS,
  SETTING_KEYS,
  defaultSettings,
  isSettingKey,
  mapSettings,
  type ClusterSettings,
  type JsonScalar,
  type SettingKey,
} from '../settings/index.js';
import { clusterKind } from './cluster-version.js';
import { SnapshotError } from './errors.js';
import { Fields, describe, isRecord } from '../util/untrusted.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { failure, okResult, type ApplyResult } from './result.js';

export const SETTINGS_KIND = 'settings';

export interface SettingsInit {
  readonly kind: 'settings';
  readonly op: 'init';
  readonly values: ClusterSettings;
  /**
   * Keys with a `since` level the entry wrote (parsed from the log; absent when built here): older
   * members refuse such an entry whole, so below the level it is refused here too.
   */
  readonly newer?: readonly SettingKey[];
}

export interface SettingsSet<K extends SettingKey = SettingKey> {
  readonly kind: 'settings';
  readonly op: 'set';
  readonly key: K;
  readonly value: ClusterSettings[K];
}

export type SettingsCommand = SettingsInit | SettingsSet;

/** The `value` of a set's result: what the key held before. */
export interface SettingChange {
  readonly key: SettingKey;
  readonly changed: boolean;
}

export interface SettingsView {
  /** False until the first init is applied; values are then the built-in defaults. */
  readonly initialized: boolean;
  all(): ClusterSettings;
  get<K extends SettingKey>(key: K): ClusterSettings[K];
}

/** Values before any init: the built-in defaults at the default election timeout. */
const UNINITIALIZED = defaultSettings({ electionTimeoutMs: 1_000 });

const FIELDS = {
  init: commandFields('op', 'values'),
  set: commandFields('op', 'key', 'value'),
} as const;

/**
 * The canonical JSON of a full set of values, keys in sorted order. A key with a `since` level is
 * left out at its default: the init and the snapshots a cluster writes before that level must
 * still load on its older members, which refuse the key (and take a missing one as the default).
 */
export function settingsToJson(s: ClusterSettings): Record<string, JsonScalar> {
  const out: Record<string, JsonScalar> = {};
  for (const key of SETTING_KEYS) {
    const value = encodeValue(key, s[key]);
    if (SETTINGS[key].since !== undefined && value === encodeValue(key, UNINITIALIZED[key])) continue;
    out[key] = value;
  }
  return out;
}

/** The init command a leader proposes for `values` (the file's), as settingsToJson writes them. */
export function initCommand(values: ClusterSettings): { readonly kind: 'settings'; readonly op: 'init'; readonly values: Record<string, JsonScalar> } {
  return { kind: 'settings', op: 'init', values: settingsToJson(values) };
}

/** Why `key` may not be written at this entry (its `since` level is above the cluster's); null: it may. */
function tooNew(key: SettingKey, ctx: ApplyContext): string | null {
  const since = SETTINGS[key].since;
  const cluster = ctx.read(clusterKind);
  if (since === undefined || cluster.supports(since)) return null;
  return `setting "${key}" needs cluster version ${since}, and the cluster is at ${cluster.version}: every controller must run ${since}.x or later (the leader then raises the version)`;
}

function encodeValue<K extends SettingKey>(key: K, value: ClusterSettings[K]): JsonScalar {
  return SETTINGS[key].codec.toJson(value);
}

function decodeValue<K extends SettingKey>(key: K, json: unknown, fail: (m: string) => never): ClusterSettings[K] {
  const value = SETTINGS[key].codec.fromJson(json);
  if (value === undefined) fail(`value of "${key}" must be ${SETTINGS[key].codec.expected} in canonical form, found ${describe(json)}`);
  return value;
}

/** A full set of values from JSON: every key present but those with a `since` level (default when missing), nothing else. */
function decodeAll(json: unknown, fail: (m: string) => never): { readonly values: ClusterSettings; readonly newer: SettingKey[] } {
  if (!isRecord(json)) fail(`field "values" must be an object, found ${describe(json)}`);
  for (const key of Object.keys(json)) if (!isSettingKey(key)) fail(`unknown setting "${key}"`);
  const newer: SettingKey[] = [];
  const values = mapSettings((key) => {
    if (!Object.hasOwn(json, key)) {
      if (SETTINGS[key].since === undefined) fail(`setting "${key}" is missing`);
      return UNINITIALIZED[key];
    }
    if (SETTINGS[key].since !== undefined) newer.push(key);
    return decodeValue(key, json[key], fail);
  });
  return { values, newer };
}

function parseSettings(fields: Fields): SettingsCommand {
  const op = fields.oneOf('op', ['init', 'set'] as const);
  fields.only(FIELDS[op]);
  const fail = (m: string): never => fields.fail(m);
  switch (op) {
    case 'init': {
      const { values, newer } = decodeAll(fields.raw['values'], fail);
      return newer.length === 0 ? { kind: 'settings', op, values } : { kind: 'settings', op, values, newer };
    }
    case 'set': {
      const key = fields.string('key', { nonEmpty: true, maxBytes: 128 });
      if (!isSettingKey(key)) fields.fail(`unknown setting "${key}"`);
      return setCommand(key, decodeValue(key, fields.raw['value'], fail));
    }
    default: {
      const never: never = op;
      return never;
    }
  }
}

/** A set command whose key and value types agree. */
export function setCommand<K extends SettingKey>(key: K, value: ClusterSettings[K]): SettingsSet<K> {
  return { kind: 'settings', op: 'set', key, value };
}

class SettingsStore implements KindInstance<SettingsCommand, SettingsView>, SettingsView {
  private values: ClusterSettings = UNINITIALIZED;
  private init = false;

  get view(): SettingsView {
    return this;
  }

  get initialized(): boolean {
    return this.init;
  }

  all(): ClusterSettings {
    return this.values;
  }

  get<K extends SettingKey>(key: K): ClusterSettings[K] {
    return this.values[key];
  }

  apply(command: SettingsCommand, ctx: ApplyContext): ApplyResult {
    switch (command.op) {
      case 'init': {
        // Every bootstrapping member may propose its file's values; the first one committed wins.
        if (this.init) return okResult(ctx.revision, { initialized: false });
        const early = (command.newer ?? []).map((key) => tooNew(key, ctx)).find((why) => why !== null);
        if (early !== undefined) return failure('INVALID', early);
        this.values = command.values;
        this.init = true;
        return okResult(ctx.revision, { initialized: true });
      }
      case 'set': {
        // Before init a set would be overwritten by the init still to come: refuse it instead.
        if (!this.init) return failure('CONFLICT', 'cluster settings are not initialized yet (no leader has written them); retry');
        // An older member refuses the key: refused here too, so the replicas agree.
        const early = tooNew(command.key, ctx);
        if (early !== null) return failure('INVALID', early);
        const changed = encodeValue(command.key, this.values[command.key]) !== encodeValue(command.key, command.value);
        if (changed) this.values = { ...this.values, [command.key]: command.value };
        const change: SettingChange = { key: command.key, changed };
        return okResult(ctx.revision, change);
      }
      default: {
        const never: never = command;
        return never;
      }
    }
  }

  snapshot(): unknown {
    return { initialized: this.init, values: settingsToJson(this.values) };
  }

  restore(data: unknown): void {
    const f = Fields.of(data, 'settings', (m) => new SnapshotError(m)).only(new Set(['initialized', 'values']));
    const initialized = f.boolean('initialized');
    this.values = decodeAll(f.raw['values'], (m) => f.fail(m)).values;
    this.init = initialized;
  }
}

export const settingsKind: ResourceKind<SettingsCommand, SettingsView> = {
  name: SETTINGS_KIND,
  parse: parseSettings,
  create: () => new SettingsStore(),
};
