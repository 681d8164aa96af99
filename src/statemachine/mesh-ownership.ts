/**
 * Who may serve a service an operator applied (from cluster version SERVICE_OWNERSHIP_VERSION).
 *
 * A service whose spec and labels an operator wrote (`ctl apply`) is the operator's: an agent's
 * publish that names it as hosted makes the agent an endpoint only when the service's label
 * `mesh/allowed-agents` names that agent. Before, any agent certificate could add itself to an
 * operator's service by publishing the same spec and labels, and traffic for the service reached
 * it. As Consul grants `service:write` per service name (exact or prefix) and Kuma binds a
 * dataplane token to its service, the operator names the agents here: a comma-separated list of
 * agent ids, each exact or a prefix ending in `*` (`*` alone: any agent).
 *
 * The label is the operator's word, not part of what an agent publishes: an allowed agent joins
 * when its spec and its labels other than this one equal the service's. A label, not a new
 * field, because agents parse pushed services strictly: a new field of a service would have every
 * older agent NACK every configuration, while labels pass through as they are.
 */
import { contentKey, type HostedService, type Labels, type ServiceResource } from './mesh-types.js';

export const ALLOWED_AGENTS_LABEL = 'mesh/allowed-agents';

/** Whether the operator's service lets `agent` be one of its endpoints. */
export function agentAllowed(labels: Labels, agent: string): boolean {
  const value = labels[ALLOWED_AGENTS_LABEL];
  if (value === undefined) return false;
  for (const raw of value.split(',')) {
    const pattern = raw.trim();
    if (pattern === '') continue;
    if (pattern.endsWith('*') ? agent.startsWith(pattern.slice(0, -1)) : agent === pattern) return true;
  }
  return false;
}

/** Labels without the operator's grant: what an allowed agent's publish must match. */
function withoutGrant(labels: Labels): Labels {
  if (!(ALLOWED_AGENTS_LABEL in labels)) return labels;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== ALLOWED_AGENTS_LABEL) out[k] = v;
  return out;
}

/** Whether an agent's hosted service says what the operator's service says (its grant aside). */
export function matchesOperatorService(svc: ServiceResource, host: HostedService): boolean {
  return contentKey({ kind: 'service', spec: svc.spec, name: svc.name, labels: withoutGrant(svc.labels) }) === contentKey({ kind: 'service', name: host.name, spec: host.spec, labels: withoutGrant(host.labels) });
}

/** The refusal's reason for an agent the operator's service does not allow. */
export function notAllowedReason(agent: string): string {
  return `applied by an operator, which does not allow agent ${JSON.stringify(agent)} to serve it (label ${JSON.stringify(ALLOWED_AGENTS_LABEL)} on the service names the agents that may)`;
}

const DECLARE_IT = `ctl apply the service, with label ${JSON.stringify(ALLOWED_AGENTS_LABEL)} naming the agents that may serve it`;

/** The refusal's reason for a service no operator applied, under `services.agent_publish: declared`. */
export function undeclaredReason(name: string, exists: boolean): string {
  const what = exists ? `service ${JSON.stringify(name)} was published by agents, no operator declared it,` : `no operator declared service ${JSON.stringify(name)}`;
  return `${what} and the cluster's services.agent_publish is "declared" (${DECLARE_IT})`;
}
