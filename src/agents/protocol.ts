/**
 * The AgentSync protocol as the core sees it (proto/agent.proto carries it; wire.ts maps the
 * two). Modelled on xDS: each push carries a version and a nonce, the agent answers ACK or NACK
 * echoing the nonce, and a reply whose nonce is not the one in flight is ignored. Like delta
 * xDS's initial_resource_versions, a hello says what the agent already holds, so a reconnect
 * to any controller sends only what changed.
 *
 *   agent                               controller
 *     hello(id, cluster, version, manifest) ->
 *                                      <- welcome(controller, session, ping interval, timeout)
 *                                      <- push(version, nonce, base, upserts, removes)
 *     ack(nonce, version) | nack(nonce, version, error) ->
 *                                      <- ping(seq, timeout)
 *     pong(seq) ->
 *     usage(missed, used) ->           (names /resolve did not find, and observed ones it found)
 */
import type { AgentEpoch, AgentInfo, HostedService } from '../statemachine/index.js';
import type { ManifestEntry } from './manifest.js';
import type { PushPlan } from './push-planner.js';

export interface Hello {
  readonly type: 'hello';
  readonly agentId: string;
  /** The identity of the cluster its configuration came from; '' when it holds none. */
  readonly clusterId: string;
  /**
   * The cluster.name its configuration came from; '' when it holds none, or does not know it (a
   * configuration from a controller before names were sent, an agent before the field). A
   * controller of another name refuses the agent before claiming it (hub.ts, foreignBy).
   */
  readonly clusterName: string;
  /** False for an agent that holds no configuration yet (then version and manifest mean nothing). */
  readonly hasConfig: boolean;
  readonly version: number;
  readonly manifest: readonly ManifestEntry[];
  readonly epoch: AgentEpoch;
  readonly info: AgentInfo;
  /** The services it publishes, whole (agent.yaml `hosts`), sorted by name; their names are info.hosts. */
  readonly hosts: readonly HostedService[];
  /**
   * A version this agent process rejected while holding `version`; null: none (or an agent from
   * before the field). A rejection the cluster recorded stands on this stream only when the agent
   * says so: a restarted agent, or one whose reason to reject is gone (new protocols, a disk with
   * room again), gets the rejected version once more, as xDS sends a new stream what is current.
   */
  readonly rejectedVersion: number | null;
  /**
   * It joins a push sent in parts (push-parts.ts; false from agents before them): pings and
   * pongs cross between the parts, so its big pushes need no allowance of silence.
   */
  readonly pushParts: boolean;
  /**
   * It takes no other cluster id under its held cluster.name from this controller: another
   * address of its list answered for the held cluster and this one never did (cluster-guard.ts,
   * refusesSiblings). A controller of that name and another id (another cluster of one name)
   * then refuses it before claiming it (hub.ts, foreignBy). Absent: false (agents before the field).
   */
  readonly heldClusterOnly?: boolean;
}

export interface Ack {
  readonly type: 'ack';
  readonly nonce: number;
  readonly version: number;
}

export interface Nack {
  readonly type: 'nack';
  readonly nonce: number;
  /** The version it rejected (informational; the nonce identifies the push). */
  readonly version: number;
  readonly error: string;
}

export interface Pong {
  readonly type: 'pong';
  readonly seq: number;
}

/**
 * Names the agent resolved: `missed` were not in its configuration (a new observed dependency,
 * sent at once), `used` were (use of a dependency, sent in batches). Bounded per message.
 */
export interface Usage {
  readonly type: 'usage';
  readonly missed: readonly string[];
  readonly used: readonly string[];
}

export type AgentMessage = Hello | Ack | Nack | Pong | Usage;

export interface Welcome {
  readonly type: 'welcome';
  readonly controller: string;
  readonly clusterId: string;
  /** The cluster's `cluster.name` (a restore keeps it, and draws a new id); '' from older controllers. */
  readonly clusterName: string;
  readonly session: string;
  readonly pingIntervalMs: number;
  /** The agent should give up on this controller after this long without a message from it. */
  readonly timeoutMs: number;
}

export interface Push {
  readonly type: 'push';
  readonly nonce: number;
  readonly clusterId: string;
  readonly plan: PushPlan;
}

export interface Ping {
  readonly type: 'ping';
  readonly seq: number;
  /** The agent's heartbeat timeout in force on the controller (it adapts to the RTT). */
  readonly timeoutMs: number;
}

export type ControllerMessage = Welcome | Push | Ping;

/** How a stream is ended, as the driver maps it to a gRPC status. */
export type CloseCode =
  | 'unavailable' // try another controller (cut off from a quorum, shutting down, heartbeat timeout)
  | 'aborted' // taken over by a newer connection of the same agent
  | 'invalid' // a malformed or out-of-order message
  | 'denied' // the TLS identity cannot speak for this agent id
  | 'exhausted' // too many agents or records
  | 'foreign'; // it holds the configuration of another cluster (another cluster.name): it belongs elsewhere
