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
 *
 * Two clusters can share a name (both left at the default `cluster.name`, a staging copy of
 * production's file): a new id under the held name is then a restore or that other cluster. A
 * restore answers at the addresses of the cluster it restores; the other cluster at its own. So
 * when another address of this agent's list answered for the held cluster in this process, and
 * the new id comes from an address that never did, the list spans two clusters of one name: refused.
 */

export interface ClusterIdentity {
  readonly id: string;
  /** `cluster.name`; '' when not known. */
  readonly name: string;
}

/** Where this agent heard the cluster it holds, in this process and the runs before it (AgentRunner keeps the record, answered-file.ts beside --out). */
export interface HeldAddresses {
  /** The welcoming controller's address answered for the held cluster before. */
  readonly fromHeld: boolean;
  /** Other addresses of --controllers that answered for the held cluster. */
  readonly othersHeld: readonly string[];
}

const NOTHING_HEARD: HeldAddresses = { fromHeld: false, othersHeld: [] };

/**
 * Where the held cluster (id `heldId`; null: nothing held) welcomed this agent, as seen from a
 * welcome at `address`; `answered`: the cluster id each address last welcomed it with.
 */
export function heldAddresses(answered: ReadonlyMap<string, string>, address: string, heldId: string | null): HeldAddresses {
  if (heldId === null) return NOTHING_HEARD;
  const othersHeld = [...answered].flatMap(([a, id]) => (a !== address && id === heldId ? [a] : []));
  return { fromHeld: answered.get(address) === heldId, othersHeld };
}

export type WelcomeVerdict =
  | { readonly type: 'take'; readonly warning: string | null }
  | { readonly type: 'refuse'; readonly reason: string };

/**
 * Whether this agent refuses, at the address `heard` describes, a cluster of its held name under
 * another id: another address of its list answered for the held cluster and this one never did.
 * Known before the welcome, so the hello says it (Hello.heldClusterOnly) and a controller of the
 * other cluster refuses the agent before claiming it, as judgeWelcome would refuse it after.
 */
export function refusesSiblings(held: ClusterIdentity | null, heard: HeldAddresses): boolean {
  // In a new cluster's first moments its name stands in for the id not yet drawn: no sibling to tell apart.
  return held !== null && held.name !== '' && held.id !== held.name && !heard.fromHeld && heard.othersHeld.length > 0;
}

const named = (c: ClusterIdentity): string => `cluster ${c.name === '' ? '(name not known)' : JSON.stringify(c.name)} (id ${c.id})`;

/**
 * Whether to take configuration from the controller that sent this welcome. `held`: the cluster
 * of the configuration the agent holds, null when it holds none; `from`: the controller, named
 * as `ID at ADDRESS`.
 */
export function judgeWelcome(held: ClusterIdentity | null, welcome: ClusterIdentity, from: string, heard: HeldAddresses = NOTHING_HEARD): WelcomeVerdict {
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
  if (held.name === welcome.name && refusesSiblings(held, heard)) {
    return {
      type: 'refuse',
      reason:
        `controller ${from} belongs to ${named(welcome)}, but this agent's configuration came from ${named(held)}, which answered at ${heard.othersHeld.join(', ')}: ` +
        `two clusters of one name; refused, trying the next controller. A restore would answer at the addresses of the cluster it restores. ` +
        `Its --controllers list spans two clusters: remove the other cluster's addresses, and give each cluster its own cluster.name. ` +
        `To move this agent to the other cluster on purpose, stop it, delete its --out file and start it with that cluster's controllers`,
    };
  }
  if (held.name !== '' && held.name === welcome.name) {
    return { type: 'take', warning: `controller ${from}: ${named(welcome)} has a new id (this agent's configuration came from id ${held.id}): restored with controller restore? The configuration is resynced from scratch` };
  }
  return {
    type: 'take',
    warning: `controller ${from} belongs to ${named(welcome)}, but this agent's configuration came from ${named(held)}: resynced from scratch. Expected after a controller restore; otherwise check --controllers, which may span two clusters`,
  };
}
