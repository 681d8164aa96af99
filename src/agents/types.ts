/**
 * Plain data of the agents layer: ids, the states `ctl list agents` shows (as istioctl
 * proxy-status shows them per proxy), and the live row a serving controller knows.
 */
export type { AgentEpoch, AgentInfo, AgentRecord, AgentSyncFields } from '../statemachine/index.js';

/** A stream as the driver numbers them; never reused within one controller process. */
export type StreamId = number;

/**
 * SYNCED: the agent acknowledged the version the cluster has for it.
 * STALE: a version was sent and neither acknowledged nor rejected yet.
 * NACKED: the agent rejected the last version sent (it keeps running its last good one).
 * NOT_SENT: nothing was sent for the version the cluster has (yet, or ever).
 */
export const AGENT_STATES = ['SYNCED', 'STALE', 'NACKED', 'NOT_SENT'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** What the serving controller knows live about one of its agents, beyond the committed record. */
export interface LiveAgent {
  readonly id: string;
  /** The controller the agent is connected to. */
  readonly controller: string;
  readonly session: string;
  readonly lastContactMs: number;
  readonly heartbeatTimeoutMs: number;
  /** The stream is gone and the agent is within its grace to reappear elsewhere (not yet offline). */
  readonly departing: boolean;
  /**
   * What the serving controller's last check of this stream's publish found: services it
   * declares that the mesh does not let it serve, and why the declaration as a whole is held
   * back (null: it is not). Null from a controller too old to say, and on a departing row.
   */
  readonly publish: PublishStanding | null;
}

/** A service an agent publishes that the cluster refuses it, and why (the mesh's plan: src/statemachine/mesh-publish.ts). */
export interface RefusedHost {
  readonly name: string;
  readonly reason: string;
}

export interface PublishStanding {
  readonly refusedHosts: readonly RefusedHost[];
  /** Why nothing of the declaration is proposed now (quota, the mesh's bound); null: not held. */
  readonly held: string | null;
}
