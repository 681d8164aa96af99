/**
 * Which resources an agent's configuration is made of, and its version: the cluster revision
 * at which that set last changed. A selector reads only replicated state, so every controller
 * computes the same configuration and version for an agent, and an agent can move between
 * controllers without being sent anything again.
 *
 * - An agent that is not lazy gets every service and route; its version is the mesh's last
 *   change (all such agents share one selection key, so one manifest per version).
 * - A lazy agent (`lazy: true`) gets what it hosts, its static dependencies, the dependencies
 *   observed for it, and the routes whose both ends are among them; never the whole mesh. Its
 *   version is its record's revision in the mesh kind, stamped by every change that reaches
 *   that set (src/statemachine/mesh-declarations.ts): a change elsewhere leaves it, and so
 *   pushes to it, alone. Its configuration is computed from its committed declaration, so until
 *   the declaration in its hello is committed (its publish), it is not served (select: null).
 */
import { declaredAs, type AgentInfo, type AgentsView, type ClusterView, type MeshView, type Resource, type SettingsView } from '../statemachine/index.js';

/** The replicated state a selector may read. */
export interface ClusterState {
  readonly mesh: MeshView;
  readonly agents: AgentsView;
  readonly settings: SettingsView;
  /** The cluster version: which newer commands every member reads. */
  readonly cluster: ClusterView;
  /** The cluster revision (state machine) applied on this controller. */
  readonly revision: number;
}

export interface Selection {
  /** The revision at which this configuration last changed. */
  readonly version: number;
  /** Sorted by kind, then name. */
  readonly resources: () => readonly Resource[];
}

export interface SelectorInput {
  readonly id: string;
  readonly info: AgentInfo;
}

export interface ConfigSelector {
  /** Agents with equal keys get the same configuration (and share its manifests). From the hello alone. */
  key(agent: SelectorInput): string;
  /** The configuration now; null: not decided yet (a lazy agent whose declaration is not committed). */
  select(agent: SelectorInput, state: ClusterState): Selection | null;
}

/** Every agent gets all services and routes; the version is the mesh's last change. */
export const selectAll: ConfigSelector = {
  key: () => 'all',
  select: (_agent, state) => ({ version: state.mesh.lastChange, resources: () => state.mesh.list() }),
};

/** Lazy agents get their own set (see above); the others everything. The controllers' selector. */
export const selectLazy: ConfigSelector = {
  key: (agent) => (agent.info.lazy ? `agent/${agent.id}` : 'all'),
  select(agent, state) {
    if (!agent.info.lazy) return selectAll.select(agent, state);
    const record = state.mesh.declaration(agent.id);
    if (record === null || !declaredAs(record, agent.info)) return null;
    return { version: record.revision, resources: () => state.mesh.selectionOf(agent.id) };
  },
};
