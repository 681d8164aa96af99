/**
 * `ctl list agents`: one row per agent, the same on every controller. The durable part (who
 * serves it, the versions, the error, pushes) comes from the committed records, which every
 * controller holds; the state is computed from them against the version the cluster has for
 * the agent. The live part (last contact, the timeout in force) comes from the controller that
 * serves the agent, asked when the list is made; when it does not answer, lastContactMs is null
 * and the timeout is the one last recorded.
 *
 * `online` is reconciled: the committed status, and the serving controller heard from (by the
 * answering controller's reconciled view of its peers), since an agent is online only while
 * connected to a controller that a quorum hears from.
 */
import type { AgentRecord } from '../statemachine/index.js';
import { agentState } from './push-tracker.js';
import type { AgentState, LiveAgent } from './types.js';

/** One row of `ctl list agents -o json`, fields in the contract's order. */
export interface AgentRow {
  readonly id: string;
  readonly online: boolean;
  readonly controller: string;
  readonly state: AgentState;
  readonly sentVersion: number | null;
  readonly ackedVersion: number | null;
  readonly nackedVersion: number | null;
  readonly lastError: string | null;
  readonly pushes: number;
  readonly resources: number;
  readonly dependencies: readonly string[];
  readonly hosts: readonly string[];
  readonly lastContactMs: number | null;
  readonly heartbeatTimeoutMs: number;
}

export const AGENT_FIELDS = [
  'id',
  'online',
  'controller',
  'state',
  'sentVersion',
  'ackedVersion',
  'nackedVersion',
  'lastError',
  'pushes',
  'resources',
  'dependencies',
  'hosts',
  'lastContactMs',
  'heartbeatTimeoutMs',
] as const satisfies readonly (keyof AgentRow)[];

export interface ListingInput {
  readonly records: readonly AgentRecord[];
  /** The version the cluster has for this agent now. */
  readonly wantedVersion: (record: AgentRecord) => number;
  /** The answering controller's reconciled view: does a quorum hear from this controller? */
  readonly controllerOnline: (id: string) => boolean;
  /** Live rows from the controllers that serve agents, by agent id (the serving session's). */
  readonly live: ReadonlyMap<string, LiveAgent>;
}

export function agentRows(input: ListingInput): AgentRow[] {
  return input.records.map((r) => {
    const live = input.live.get(r.id);
    const current = live !== undefined && live.session === r.session ? live : undefined;
    return {
      id: r.id,
      online: r.online && input.controllerOnline(r.controller),
      controller: r.controller,
      state: agentState(r, input.wantedVersion(r)),
      sentVersion: r.sentVersion,
      ackedVersion: r.ackedVersion,
      nackedVersion: r.nackedVersion,
      lastError: r.lastError,
      pushes: r.pushes,
      resources: r.resources,
      dependencies: [...r.dependencies],
      hosts: [...r.hosts],
      lastContactMs: r.online ? (current?.lastContactMs ?? null) : null,
      heartbeatTimeoutMs: current?.heartbeatTimeoutMs ?? r.timeoutMs,
    };
  });
}
