/**
 * `ctl list agents`: one row per agent, the same on every controller. The durable part (who
 * serves it, the versions, the error, pushes) comes from the committed records, which every
 * controller holds; the state is computed from them against the version the cluster has for
 * the agent. The live part (last contact, the timeout in force) comes from the controller that
 * serves the agent, asked when the list is made; when it does not answer, lastContactMs is null
 * and the timeout is the one last recorded.
 *
 * `online` is reconciled, since an agent is online exactly while it is connected to a controller
 * that a quorum hears from: online when some controller the answering one considers online
 * has the agent's stream open right now, or when the committed record says online on a
 * controller that is considered online or has been silent for less than the agent's timeout
 * plus its grace (the time an agent has to move before it counts as gone: a move is not an
 * outage), and that controller, when it answered, still has the agent's stream or is within the
 * agent's grace. So an agent whose controller died shows online on its new controller before
 * its claim commits, an agent gone with its controller shows offline once the controller's
 * silence exceeds that, and an agent gone from a live controller shows offline when its grace
 * ends, whether or not its record has been written yet.
 */
import type { AgentDeclarationView, AgentRecord } from '../statemachine/index.js';
import { agentState } from './push-tracker.js';
import type { AgentState, LiveAgent, PublishStanding } from './types.js';

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
  /** Publishes of this agent that reached the log, and those of them that advanced the revision (an identical re-publish does neither). */
  readonly publishWrites: number;
  readonly publishRevisions: number;
  /** The serving controller's word on what it refuses of the agent's publish; null: none said (offline, no answer, an older controller). */
  readonly publish: PublishStanding | null;
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
  'publishWrites',
  'publishRevisions',
  'publish',
] as const satisfies readonly (keyof AgentRow)[];

export interface ListingInput {
  readonly records: readonly AgentRecord[];
  /** The version the cluster has for this agent now. */
  readonly wantedVersion: (record: AgentRecord) => number;
  /** The answering controller's reconciled view of a controller; silentMs null: never heard from. */
  readonly controller: (id: string) => { readonly online: boolean; readonly silentMs: number | null };
  /** The grace an agent with this timeout has to move (hub.ts, departureGraceMs). */
  readonly graceMs: (timeoutMs: number) => number;
  /** Live rows from every controller that answered, by agent id (more than one during a takeover). */
  readonly live: ReadonlyMap<string, readonly LiveAgent[]>;
  /** The controllers whose live rows are in `live` (the answering one and those that answered it). */
  readonly answered: ReadonlySet<string>;
  /** What the agent declared and was observed to depend on (the mesh kind); null: nothing. */
  readonly declaration: (id: string) => AgentDeclarationView | null;
}

export function agentRows(input: ListingInput): AgentRow[] {
  return input.records.map((r) => {
    const rows = input.live.get(r.id) ?? [];
    const live = rows.filter((l) => !l.departing && input.controller(l.controller).online);
    const current = live.find((l) => l.session === r.session) ?? live[0];
    const serving = input.controller(r.controller);
    const moving = serving.silentMs !== null && serving.silentMs <= r.timeoutMs + input.graceMs(r.timeoutMs);
    // The serving controller answered: it says itself whether the agent is there or in its grace.
    const vouched = !input.answered.has(r.controller) || rows.some((l) => l.controller === r.controller && l.session === r.session);
    const decl = input.declaration(r.id);
    return {
      id: r.id,
      online: current !== undefined || (r.online && vouched && (serving.online || moving)),
      controller: current?.controller ?? r.controller,
      state: agentState(r, input.wantedVersion(r)),
      sentVersion: r.sentVersion,
      ackedVersion: r.ackedVersion,
      nackedVersion: r.nackedVersion,
      lastError: r.lastError,
      pushes: r.pushes,
      resources: r.resources,
      // Static and observed, as one sorted list.
      dependencies: [...new Set([...r.dependencies, ...(decl?.observed.keys() ?? [])])].sort(),
      hosts: [...r.hosts],
      lastContactMs: current?.lastContactMs ?? null,
      heartbeatTimeoutMs: current?.heartbeatTimeoutMs ?? r.timeoutMs,
      publishWrites: decl?.publishWrites ?? 0,
      publishRevisions: decl?.publishRevisions ?? 0,
      publish: current?.publish ?? null,
    };
  });
}
