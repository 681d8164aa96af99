/**
 * What each agent holds of the VIP range through its publishes (from cluster version
 * PUBLISH_SHARE_VERSION): the agents' services its publish created that still exist (listed, or
 * unlisted within the leader's expiry grace), and the VIPs of those expired or deleted while their
 * quarantine lasts (vip-allocator.ts charges each to the creator).
 *
 * Before, one agent certificate publishing new names again and again held each name's VIP for the
 * 10-minute grace and the hour's quarantine after it, until the range was full and no other agent
 * nor operator got a VIP (session 51). Now a publish that would take an agent past
 * MAX_SERVICES_PER_AGENT is refused for the services it would create, by the same plan apply and
 * the serving controller follow (mesh-publish.ts); what it joins or changes is not counted.
 *
 * Replicated state: every replica counts the same at the same entry. The creator of a service
 * stays its creator when other agents join it; an operator's apply of it makes it the operator's
 * (no longer counted); an operator's delete, an expiry, or the agent being forgotten leave its VIP
 * charged to the creator until the quarantine ends (else deleting junk would make room for more).
 */

/**
 * Services one agent may hold by its publishes, quarantined VIPs included. A constant, as the
 * mesh's other replicated caps (MAX_ENDPOINTS, MAX_AGENT_RECORDS): a cluster setting would be a
 * new key, which older members' settings reader refuses in a snapshot. 1,024 is four times the
 * 256 services one publish may list (MAX_AGENT_NAMES): an agent may replace everything it hosts
 * with new names four times within the grace and the hour's quarantine, and one certificate holds
 * at most 1.6% of a /16 range (before: all of it).
 */
export const MAX_SERVICES_PER_AGENT = 1_024;

/** The agents' services by the agent whose publish created them, with a count per agent. */
export class CreatorBook {
  private readonly creators = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  /** An upper bound of the snapshot's `publishers` entries: ["service","agent"], each. */
  private chars = 0;

  get size(): number {
    return this.creators.size;
  }

  /** `service` was created by `agent`'s publish. */
  set(service: string, agent: string): void {
    this.drop(service);
    this.creators.set(service, agent);
    this.counts.set(agent, (this.counts.get(agent) ?? 0) + 1);
    this.chars += entryLength(service, agent);
  }

  /** `service` is gone or the operator's: no longer counted. Returns its creator, or null. */
  drop(service: string): string | null {
    const agent = this.creators.get(service);
    if (agent === undefined) return null;
    this.creators.delete(service);
    this.chars -= entryLength(service, agent);
    const left = (this.counts.get(agent) ?? 0) - 1;
    if (left > 0) this.counts.set(agent, left);
    else this.counts.delete(agent);
    return agent;
  }

  /** An upper bound of the snapshot's `publishers` field, name and brackets included (0: left out). */
  snapshotLength(): number {
    return this.creators.size === 0 ? 0 : 20 + this.chars;
  }

  /** Existing services `agent` created. */
  createdBy(agent: string): number {
    return this.counts.get(agent) ?? 0;
  }

  /** [service, agent] pairs sorted by service, for a snapshot. */
  sorted(): [string, string][] {
    return [...this.creators].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

function entryLength(service: string, agent: string): number {
  return JSON.stringify(service).length + JSON.stringify(agent).length + 4;
}

/** The refusal's reason for a service that would take its publisher past the bound. */
export function overShareReason(agent: string, held: number): string {
  return (
    `agent ${JSON.stringify(agent)} holds ${held} services by its publishes (those expired count while their VIP is quarantined, services.vip_quarantine), ` +
    `at most ${MAX_SERVICES_PER_AGENT}: new ones are refused until some expire (unlisted for the grace) and their quarantine ends`
  );
}
