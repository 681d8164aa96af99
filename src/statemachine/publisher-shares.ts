/**
 * What each agent holds of the VIP range through its publishes, by the rule the cluster version
 * puts in force (ShareRule):
 * - 'creations' (PUBLISH_SHARE_VERSION): the agents' services its publish created that still
 *   exist (listed, or unlisted within the leader's expiry grace), and the VIPs of those expired or
 *   deleted while their quarantine lasts, all charged to the creator (session 51);
 * - 'listings' (LISTER_SHARE_VERSION): every agents' service it lists (is an endpoint of: created
 *   or joined; operators' services are not counted), the services it listed last that no agent
 *   lists any more (through the grace), and the quarantined VIPs of those expired or deleted.
 *
 * Under 'creations' a certificate that joined another agent's services and kept listing them kept
 * them charged to their creator after it stopped: it could pin the creator's share at the bound
 * (session 52). Passing the charge to the agents still listing is safe only if joins are counted
 * and refused like creations, or two certificates would launder creations through each other
 * (create, let the other join, leave, create again). So under 'listings' every lister pays while
 * it lists, the last one pays until the VIP leaves quarantine, and a publish that would take an
 * agent past MAX_SERVICES_PER_AGENT is refused for the services it would create or join (the plan
 * apply and the serving controller follow: mesh-publish.ts). Every agents' service and every
 * quarantined VIP of one is charged to some agent, so k certificates hold at most k times the
 * bound.
 *
 * Replicated state: every replica counts the same at the same entry; the listers are the
 * services' endpoints (in the snapshot already), the ChargeBook below is the snapshot's
 * `publishers`, the quarantine's payers its entries' third element.
 */
import { LISTER_SHARE_VERSION, PUBLISH_SHARE_VERSION, type ClusterView } from './cluster-version.js';

/**
 * Services one agent may hold by its publishes, quarantined VIPs included. A constant, as the
 * mesh's other replicated caps (MAX_ENDPOINTS, MAX_AGENT_RECORDS): a cluster setting would be a
 * new key, which older members' settings reader refuses in a snapshot. 1,024 is four times the
 * 256 services one publish may list (MAX_AGENT_NAMES): an agent may replace everything it hosts
 * with new names four times within the grace and the hour's quarantine, and one certificate holds
 * at most 1.6% of a /16 range (before: all of it).
 */
export const MAX_SERVICES_PER_AGENT = 1_024;

/** How an agent's share is counted; null (below PUBLISH_SHARE_VERSION): not at all. */
export type ShareRule = 'creations' | 'listings';

/** The rule in force at the cluster's version. */
export function shareRuleOf(cluster: ClusterView): ShareRule | null {
  return cluster.supports(LISTER_SHARE_VERSION) ? 'listings' : cluster.supports(PUBLISH_SHARE_VERSION) ? 'creations' : null;
}

/** What keeps an agents' service from expiring: any declaration naming it, or (from LISTER_SHARE_VERSION) an endpoint. */
export type KeptBy = 'declarations' | 'endpoints';

/**
 * Under 'listings', an agent that the cluster refused for a service (its share, another spec)
 * still names it in its declaration. Were that to keep the service alive, a certificate over its
 * share could keep another's services from expiring, charged to their last lister, for good:
 * the pin again. So from LISTER_SHARE_VERSION only the endpoints (the listings accepted, each
 * charged) keep a service.
 */
export function keptByFor(rule: ShareRule | null): KeptBy {
  return rule === 'listings' ? 'endpoints' : 'declarations';
}

/**
 * The agent charged for each agents' service, with a count per agent. Under 'creations' it is
 * the creator, for as long as the service exists. Under 'listings' it is the last agent that
 * listed the service, recorded when its endpoints become empty and dropped when one lists it
 * again; entries left from 'creations' for services still listed count for nothing (the listers
 * pay) and are overwritten when the last lister leaves.
 */
export class ChargeBook {
  private readonly payers = new Map<string, string>();
  private readonly byAgent = new Map<string, Set<string>>();
  /** An upper bound of the snapshot's `publishers` entries: ["service","agent"], each. */
  private chars = 0;

  get size(): number {
    return this.payers.size;
  }

  /** `service` is charged to `agent`. */
  set(service: string, agent: string): void {
    this.drop(service);
    this.payers.set(service, agent);
    let set = this.byAgent.get(agent);
    if (set === undefined) this.byAgent.set(agent, (set = new Set()));
    set.add(service);
    this.chars += entryLength(service, agent);
  }

  /** `service` is no longer charged by this book. Returns the agent it was charged to, or null. */
  drop(service: string): string | null {
    const agent = this.payers.get(service);
    if (agent === undefined) return null;
    this.payers.delete(service);
    this.chars -= entryLength(service, agent);
    const set = this.byAgent.get(agent)!;
    set.delete(service);
    if (set.size === 0) this.byAgent.delete(agent);
    return agent;
  }

  /** The agent `service` is charged to, or null. */
  payer(service: string): string | null {
    return this.payers.get(service) ?? null;
  }

  /** Services charged to `agent`. */
  countOf(agent: string): number {
    return this.byAgent.get(agent)?.size ?? 0;
  }

  /** Services charged to `agent` (for a count under 'listings', which leaves out those listed). */
  servicesOf(agent: string): ReadonlySet<string> {
    return this.byAgent.get(agent) ?? EMPTY;
  }

  /** An upper bound of the snapshot's `publishers` field, name and brackets included (0: left out). */
  snapshotLength(): number {
    return this.payers.size === 0 ? 0 : 20 + this.chars;
  }

  /** [service, agent] pairs sorted by service, for a snapshot. */
  sorted(): [string, string][] {
    return [...this.payers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function entryLength(service: string, agent: string): number {
  return JSON.stringify(service).length + JSON.stringify(agent).length + 4;
}

/** What a refused host would have done: create a service, or (under 'listings') join one. */
export type ShareAction = 'create' | 'join';

/** The refusal's reason for a service that would take its publisher past the bound. */
export function overShareReason(agent: string, held: number, rule: ShareRule, action: ShareAction): string {
  if (rule === 'creations') {
    return (
      `agent ${JSON.stringify(agent)} holds ${held} services by its publishes (those expired count while their VIP is quarantined, services.vip_quarantine), ` +
      `at most ${MAX_SERVICES_PER_AGENT}: new ones are refused until some expire (unlisted for the grace) and their quarantine ends`
    );
  }
  const what = action === 'create' ? 'creating a new service' : "joining an agents' service";
  return (
    `agent ${JSON.stringify(agent)} holds ${held} services by its publishes (those it lists, created or joined, and those it listed last while they expire and their VIP is quarantined, services.vip_quarantine), ` +
    `at most ${MAX_SERVICES_PER_AGENT}: ${what} is refused until it stops listing some others list too, or some it listed last expire (unlisted for the grace) and their quarantine ends`
  );
}
