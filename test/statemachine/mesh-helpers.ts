/**
 * Commands for the mesh kind's tests: resources with the leader's clock (`at`), settings, agent
 * claims (the agents kind, which fences publishes) and controllers' mesh reports.
 */
import {
  StateMachine,
  encodeCommand,
  meshKind,
  type AgentReportEntry,
  type ApplyResult,
  type HostedService,
  type KindCommand,
  type MeshCommand,
  type MeshReportOutcome,
  type PublishEntry,
  type ResourceInput,
  type ServiceResource,
  type UsageEntry,
} from '../../src/statemachine/index.js';
import { SETTINGS, defaultSettings, type ClusterSettings } from '../../src/settings/index.js';
import { settingsToJson } from '../../src/statemachine/settings.js';

export function run(sm: StateMachine, command: KindCommand): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand(command));
}

export const service = (name: string, protocol = 'http', ports: number[] = [80], labels: Record<string, string> = {}): ResourceInput => ({ kind: 'service', name, spec: { protocol, ports }, labels });
export const route = (name: string, from: string, to: string): ResourceInput => ({ kind: 'route', name, spec: { from, to }, labels: {} });
export const apply = (at: number, ...resources: ResourceInput[]): MeshCommand => ({ kind: 'mesh', op: 'apply', resources, at });
export const del = (at: number, type: 'service' | 'route', name: string): MeshCommand => ({ kind: 'mesh', op: 'delete', type, name, at });
export const host = (name: string, protocol = 'http', ports: number[] = [80], labels: Record<string, string> = {}): HostedService => ({ name, spec: { protocol, ports }, labels });

/** The cluster settings, the defaults with `changes`, written as the bootstrap does. */
export function initSettings(changes: Partial<ClusterSettings> = {}): KindCommand {
  return { kind: 'settings', op: 'init', values: settingsToJson({ ...defaultSettings({ electionTimeoutMs: 1000 }), ...changes }) } as KindCommand;
}

export function setSetting<K extends keyof ClusterSettings>(key: K, value: ClusterSettings[K]): KindCommand {
  return { kind: 'settings', op: 'set', key, value: SETTINGS[key].codec.toJson(value) } as KindCommand;
}

const noSync = { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 };

/** An agent's stream claimed by controller c1 (the agents kind): what a publish is fenced by. */
export function claim(agent: string, session: string, seq = 1): KindCommand {
  const e: AgentReportEntry = { op: 'connect', id: agent, session, epoch: { boot: `${agent}-boot`, seq }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, sync: noSync, timeoutMs: 1000, pushes: 0 };
  return { kind: 'agents', op: 'report', controller: 'c1', entries: [e] } as KindCommand;
}

export function offline(agent: string, session: string): KindCommand {
  const e: AgentReportEntry = { op: 'disconnect', id: agent, session, reason: 'stream closed', pushes: 0 };
  return { kind: 'agents', op: 'report', controller: 'c1', entries: [e] } as KindCommand;
}

/** The agent's record forgotten, if still offline on `session` (the reaper's or an operator's). */
export function forgetRecord(agent: string, session: string, reason = 'offline for more than 1h0m0s (controller.agent_reconnect_timeout)'): KindCommand {
  const e: AgentReportEntry = { op: 'forget', id: agent, session, reason };
  return { kind: 'agents', op: 'report', controller: 'c1', entries: [e] } as KindCommand;
}

/** The cluster version set, as the leader's keeper does once every member runs a build that reads it. */
export function clusterVersion(version: string): KindCommand {
  return { kind: 'cluster', op: 'set-version', version } as KindCommand;
}

export interface ReportParts {
  readonly publish?: readonly PublishEntry[];
  readonly usage?: readonly UsageEntry[];
  readonly health?: readonly string[];
  readonly expire?: boolean;
  readonly forget?: readonly string[];
  readonly expireServices?: readonly string[];
}

export function report(at: number, parts: ReportParts): MeshCommand {
  const forget = parts.forget === undefined ? {} : { forget: parts.forget };
  const expireServices = parts.expireServices === undefined ? {} : { expireServices: parts.expireServices };
  return { kind: 'mesh', op: 'report', controller: 'c1', publish: parts.publish ?? [], usage: parts.usage ?? [], health: parts.health ?? [], expire: parts.expire ?? false, ...forget, ...expireServices, at };
}

export function publishOf(agent: string, session: string, hosts: readonly HostedService[], opts: { lazy?: boolean; dependencies?: readonly string[] } = {}): PublishEntry {
  return { agent, session, lazy: opts.lazy ?? false, hosts: [...hosts].sort((a, b) => (a.name < b.name ? -1 : 1)), dependencies: [...(opts.dependencies ?? [])].sort() };
}

export const outcome = (r: ApplyResult): MeshReportOutcome => {
  if (!r.ok) throw new Error(`report failed: ${r.message}`);
  return r.value as MeshReportOutcome;
};

export function svcOf(sm: StateMachine, name: string): ServiceResource | null {
  const r = sm.view(meshKind).get('service', name);
  return r?.kind === 'service' ? r : null;
}

export function vips(sm: StateMachine): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of sm.view(meshKind).listOf('service')) if (r.kind === 'service' && r.status.vip !== undefined) out.set(r.name, r.status.vip);
  return out;
}

/** A fresh state machine with the settings written (defaults unless `changes`). */
export function cluster(changes: Partial<ClusterSettings> = {}): StateMachine {
  const sm = new StateMachine();
  run(sm, initSettings(changes));
  return sm;
}
