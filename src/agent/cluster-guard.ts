/**
 * Which cluster an agent takes its configuration from. A --controllers list that spans two
 * clusters (a staging controller left in a production list) would otherwise swap the agent's
 * whole configuration for the other cluster's at every failover. An agent that holds a
 * configuration refuses a controller whose cluster has another `cluster.name`, and tries the
 * next one, as an Envoy keeps its xDS server's configuration rather than mix two management
 * planes. A controller of the same name but another id is that cluster after a `controller
 * restore` (a new id, the same name): taken, and the controller resyncs the agent from scratch.
 * Names the agent does not know (nothing held, or a controller or --out file from before names
 * were sent) cannot be compared: taken, with a warning when the id differs. Pure.
 */

export interface ClusterIdentity {
  readonly id: string;
  /** `cluster.name`; '' when not known. */
  readonly name: string;
}

export type WelcomeVerdict =
  | { readonly type: 'take'; readonly warning: string | null }
  | { readonly type: 'refuse'; readonly reason: string };

const named = (c: ClusterIdentity): string => `cluster ${c.name === '' ? '(name not known)' : JSON.stringify(c.name)} (id ${c.id})`;

/**
 * Whether to take configuration from the controller that sent this welcome. `held`: the cluster
 * of the configuration the agent holds, null when it holds none; `from`: the controller, named
 * as `ID at ADDRESS`.
 */
export function judgeWelcome(held: ClusterIdentity | null, welcome: ClusterIdentity, from: string): WelcomeVerdict {
  if (held === null || held.id === welcome.id) return { type: 'take', warning: null };
  if (held.name !== '' && welcome.name !== '' && held.name !== welcome.name) {
    return {
      type: 'refuse',
      reason:
        `controller ${from} belongs to ${named(welcome)}, but this agent's configuration came from ${named(held)}: ` +
        `refused, trying the next controller. Its --controllers list spans two clusters: remove the other cluster's ` +
        `addresses. To move this agent to ${JSON.stringify(welcome.name)} on purpose, stop it, delete its --out file and start it with that cluster's controllers`,
    };
  }
  // In a new cluster's first moments its name stands in for the id not yet drawn: no restore.
  if (held.name !== '' && held.name === welcome.name && held.id === held.name) return { type: 'take', warning: null };
  if (held.name !== '' && held.name === welcome.name) {
    return { type: 'take', warning: `controller ${from}: ${named(welcome)} has a new id (this agent's configuration came from id ${held.id}): restored with controller restore? The configuration is resynced from scratch` };
  }
  return {
    type: 'take',
    warning: `controller ${from} belongs to ${named(welcome)}, but this agent's configuration came from ${named(held)}: resynced from scratch. Expected after a controller restore; otherwise check --controllers, which may span two clusters`,
  };
}
