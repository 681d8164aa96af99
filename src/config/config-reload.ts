/**
 * The config file read again on SIGHUP, as Consul reloads its own: checked exactly as a start
 * checks it, then compared with what is in force. `controller.log_level` takes effect at once;
 * every other change is named as waiting for a restart, never half-applied (timeouts, addresses
 * and paths are wired into the running node). A file that no longer passes the checks changes
 * nothing and says why. Pure but for reading the file and the caller's start checks: the caller
 * logs and applies.
 *
 * "Checked exactly as a start checks it" includes what a start checks beyond the schema (the TLS
 * files, the data dir: `StartChecks`): a file whose restart would exit 2 is refused here with
 * the start's words, not called reloaded with its keys "in force after a restart". So is one the
 * running node knows its peers would make a start refuse (`RunningChecks`): its own address moved.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, nodeConfigFor, parseClusterConfig, readConfigFile } from './load.js';
import type { LogLevel, NodeConfig } from './types.js';
import { parseYamlSource } from './yaml-source.js';
import { isSettingKey } from '../settings/index.js';

export type ConfigReload =
  | {
      readonly ok: true;
      /** The new log level, when it changed; already in force in `inForce` from now on. */
      readonly logLevel: { readonly from: LogLevel; readonly to: LogLevel } | null;
      /** YAML keys (dotted) whose new values wait for a restart; empty: none. */
      readonly restartNeeded: readonly string[];
      /**
       * Cluster-wide settings changed in the file: neither a reload nor a restart applies them (the
       * file's value seeds a new cluster only; the cluster's is changed with `ctl config set`).
       */
      readonly clusterSettings: readonly string[];
      /** Members of the cluster the file leaves out, one warning each (MembersLeftOut); empty: none. */
      readonly membersLeftOut: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/**
 * The checks a start runs on a resolved config after the schema's, without side effects (the
 * data dir is checked, never created); a problem is thrown as the start's ConfigError.
 */
export type StartChecks = (config: NodeConfig) => void;

/**
 * What the running node knows a start with `config` would refuse once its peers answer, in the
 * start's words (its own address elsewhere than the cluster has it, say); null: nothing. The
 * file checks alone cannot see it: it needs the cluster's replicated state.
 */
export type RunningChecks = (config: NodeConfig) => string | null;

/**
 * What the running node finds wrong with `config` that a start would not refuse: members of the
 * cluster the file leaves out, which a reload called "in force after a restart" although no
 * restart removes them (config/omitted-members.ts).
 */
export type MembersLeftOut = (config: NodeConfig) => readonly string[];

const LOG_LEVEL_KEY = 'controller.log_level';

/**
 * Dotted keys under which two parsed YAML documents differ (a list differing anywhere is named
 * whole; a block added or removed is named by its keys, so a cluster-wide setting is known as one).
 */
export function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (prefix !== '' && before === undefined && isMap(after)) return changedKeys({}, after, prefix);
  if (prefix !== '' && after === undefined && isMap(before)) return changedKeys(before, {}, prefix);
  if (!isMap(before) || !isMap(after)) return isDeepStrictEqual(before, after) ? [] : [prefix === '' ? '(the whole file)' : prefix];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((k) => changedKeys(before[k], after[k], prefix === '' ? k : `${prefix}.${k}`));
}

export class ConfigReloader {
  constructor(
    private readonly file: string,
    private readonly id: string,
    /** What the node started with, and the log level in force since. */
    private inForce: NodeConfig,
    /** The file's YAML document as start read it. */
    private readonly startDoc: unknown,
    private readonly startChecks: StartChecks,
    /** Anchors a relative data_dir; undefined: the process's, asked only then (./load.ts). */
    private readonly cwd?: string,
    private readonly runningChecks: RunningChecks = () => null,
    private readonly membersLeftOut: MembersLeftOut = () => [],
  ) {}

  /** Reads `file` as start did; the start's document is read from it too. */
  static fromStart(file: string, id: string, config: NodeConfig, startChecks: StartChecks, cwd?: string, runningChecks?: RunningChecks, membersLeftOut?: MembersLeftOut): ConfigReloader {
    return new ConfigReloader(file, id, config, readDoc(file), startChecks, cwd, runningChecks, membersLeftOut);
  }

  reload(): ConfigReload {
    let text: string;
    try {
      text = readConfigFile(this.file);
    } catch (err) {
      return { ok: false, reason: `cannot read ${this.file}: ${(err as Error).message}` };
    }
    let next: NodeConfig;
    try {
      next = nodeConfigFor(parseClusterConfig(text, this.file), this.id, this.cwd, this.file);
      this.startChecks(next);
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, reason: err.message };
      throw err;
    }
    const refused = this.runningChecks(next);
    if (refused !== null) return { ok: false, reason: refused };
    const doc = parse(text);
    const from = this.inForce.logLevel;
    const logLevel = next.logLevel === from ? null : { from, to: next.logLevel };
    this.inForce = { ...this.inForce, logLevel: next.logLevel };
    const same = isDeepStrictEqual({ ...next, logLevel: from }, { ...this.inForce, logLevel: from });
    const named = same ? [] : changedKeys(this.startDoc, doc).filter((k) => k !== LOG_LEVEL_KEY);
    const clusterSettings = named.filter(isSettingKey);
    const others = named.filter((k) => !isSettingKey(k));
    // A change the YAML spells alike (1s for 1000ms) is none; one the resolved values show but no key does is the file's.
    const restartNeeded = same ? [] : others.length > 0 ? others : clusterSettings.length > 0 ? [] : ['(the whole file)'];
    return { ok: true, logLevel, restartNeeded, clusterSettings, membersLeftOut: this.membersLeftOut(next) };
  }
}

function parse(text: string): unknown {
  const source = parseYamlSource(text);
  return source.ok ? source.data : null;
}

function readDoc(file: string): unknown {
  try {
    return parse(readConfigFile(file));
  } catch {
    return null;
  }
}
