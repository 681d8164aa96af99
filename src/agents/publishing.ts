/**
 * Whether an agent's hello publishes anything new: the serving controller's check before it
 * proposes, by the same plan the mesh kind applies (src/statemachine/mesh-publish.ts). An
 * identical re-publish (a reconnect, a restart with the same agent.yaml) is recognised here and
 * costs no Raft write at all; refused hosts (another spec published, the range exhausted) are
 * reported to the log once per connection and change nothing.
 */
import { SERVICE_OWNERSHIP_VERSION, declaredOnly, planChanges, planPublish, publishGrowth, vipRange, shareRuleOf, type HostAction, type PublishEntry, type PublishShares, type ServiceResource } from '../statemachine/index.js';
import type { Hello } from './protocol.js';
import { protocolsInUse, runsAll } from './protocols-in-use.js';
import type { ClusterState } from './selection.js';

export interface PublishCheck {
  /** The entry to propose; null when the log already holds everything it says. */
  readonly entry: PublishEntry | null;
  /** Hosts the mesh would refuse as things stand, with the reason. */
  readonly refused: readonly Extract<HostAction, { type: 'refuse' }>[];
  /** Services the entry would create (each with a new VIP). */
  readonly creates: number;
  /** What the entry would add to the mesh's resource bytes (controller.max_mesh_bytes), at most. */
  readonly growth: number;
  /**
   * Services the entry would create (or give a new protocol) in a protocol some agent that gets
   * every service does not speak: held back, since each such agent would NACK every configuration
   * from then on (attack round 10: one agent certificate froze the fleet's configuration).
   */
  readonly unspoken: readonly UnspokenProtocol[];
}

export interface UnspokenProtocol {
  readonly service: string;
  readonly protocol: string;
  /** Agents that get every service (not lazy) and do not list the protocol, sorted. */
  readonly agents: readonly string[];
}

export function publishCheck(hello: Hello, session: string, state: ClusterState, wallNow: number): PublishCheck {
  const entry: PublishEntry = { agent: hello.agentId, session, lazy: hello.info.lazy, hosts: hello.hosts, dependencies: hello.info.dependencies };
  const range = vipRange(state.settings.get('services.vip_cidr'));
  const quarantineMs = state.settings.get('services.vip_quarantine');
  const service = (name: string): ServiceResource | null => state.mesh.get('service', name) as ServiceResource | null;
  const plan = planPublish(entry, {
    service,
    declaration: (agent) => state.mesh.declaration(agent),
    endpointServices: (agent) => state.mesh.endpointsOf(agent).keys(),
    operatorSpec: (name) => !state.mesh.publishedSpec(name),
    claimedSession: (agent) => state.agents.get(agent)?.session ?? null,
    freeVips: () => state.mesh.freeVips(range, quarantineMs, Math.max(wallNow, state.mesh.clock)),
    roomForRecord: () => true,
    shares: sharesOf(state, quarantineMs, Math.max(wallNow, state.mesh.clock)),
    ownership: state.cluster.supports(SERVICE_OWNERSHIP_VERSION),
    declaredOnly: declaredOnly(state.cluster, state.settings),
  });
  const refused = plan.type === 'plan' ? plan.hosts.filter((h): h is Extract<HostAction, { type: 'refuse' }> => h.type === 'refuse') : [];
  const creates = plan.type === 'plan' ? plan.hosts.filter((h) => h.type === 'create').length : 0;
  const growth = plan.type === 'plan' ? publishGrowth(entry.agent, plan.hosts, plan.leave, service) : 0;
  const unspoken = plan.type === 'plan' ? unspokenProtocols(hello, plan.hosts, service, state) : [];
  return { entry: planChanges(plan) ? entry : null, refused, creates, growth, unspoken };
}

/** The agents' shares as the mesh would count them at log time `now` (quarantines ending by then freed); null: not bounded. */
function sharesOf(state: ClusterState, quarantineMs: number, now: number): PublishShares | null {
  const rule = shareRuleOf(state.cluster);
  if (rule === null) return null;
  return { rule, heldBy: (agent) => state.mesh.heldBy(agent, rule, quarantineMs, now), unlistedPayer: (name) => state.mesh.unlistedPayer(name) };
}

/** The protocols the plan brings into the mesh that some non-lazy agent (the publisher too) does not speak. */
function unspokenProtocols(hello: Hello, hosts: readonly HostAction[], service: (name: string) => ServiceResource | null, state: ClusterState): UnspokenProtocol[] {
  const out: UnspokenProtocol[] = [];
  for (const h of hosts) {
    if (h.type !== 'create' && h.type !== 'configure') continue;
    const protocol = h.host.spec.protocol;
    if (h.type === 'configure' && service(h.host.name)?.spec.protocol === protocol) continue;
    const agents = new Set<string>();
    if (!hello.info.lazy && !hello.info.protocols.includes(protocol)) agents.add(hello.agentId);
    // Only agents that run the mesh as it is: one that NACKs it already loses nothing (protocols-in-use.ts).
    for (const r of state.agents.list()) if (r.id !== hello.agentId && !r.lazy && !r.protocols.includes(protocol) && runsAll(r.protocols, protocolsInUse(state.mesh))) agents.add(r.id);
    if (agents.size > 0) out.push({ service: h.host.name, protocol, agents: [...agents].sort() });
  }
  return out;
}
