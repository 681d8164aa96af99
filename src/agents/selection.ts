/**
 * Which resources an agent's configuration is made of, and its version: the cluster revision
 * at which that set last changed. A selector reads only replicated state, so every controller
 * computes the same configuration and version for an agent, and an agent can move between
 * controllers without being sent anything again.
 *
 * For now every agent selects every service and route (selectAll). Lazy selection (an agent's
 * hosts, dependencies and observed dependencies, and the routes between them) is another
 * selector over the same state: it returns a per-agent key and its own version.
 */
import type { AgentInfo, AgentsView, MeshView, Resource } from '../statemachine/index.js';

/** The replicated state a selector may read. */
export interface ClusterState {
  readonly mesh: MeshView;
  readonly agents: AgentsView;
  /** The cluster revision (state machine) applied on this controller. */
  readonly revision: number;
}

export interface Selection {
  /** Agents with equal keys get the same configuration (and share its manifest). */
  readonly key: string;
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
  select(agent: SelectorInput, state: ClusterState): Selection;
}

/** Every agent gets all services and routes; the version is the mesh's last change. */
export const selectAll: ConfigSelector = {
  select: (_agent, state) => ({ key: 'all', version: state.mesh.lastChange, resources: () => state.mesh.list() }),
};
