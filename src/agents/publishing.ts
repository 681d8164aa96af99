/**
 * Whether an agent's hello publishes anything new: the serving controller's check before it
 * proposes, by the same plan the mesh kind applies (src/statemachine/mesh-publish.ts). An
 * identical re-publish (a reconnect, a restart with the same agent.yaml) is recognised here and
 * costs no Raft write at all; refused hosts (another spec published, the range exhausted) are
 * reported to the log once per connection and change nothing.
 */
import { planChanges, planPublish, publishGrowth, vipRange, type HostAction, type PublishEntry, type ServiceResource } from '../statemachine/index.js';
import type { Hello } from './protocol.js';
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
  });
  const refused = plan.type === 'plan' ? plan.hosts.filter((h): h is Extract<HostAction, { type: 'refuse' }> => h.type === 'refuse') : [];
  const creates = plan.type === 'plan' ? plan.hosts.filter((h) => h.type === 'create').length : 0;
  const growth = plan.type === 'plan' ? publishGrowth(entry.agent, plan.hosts, plan.leave, service) : 0;
  return { entry: planChanges(plan) ? entry : null, refused, creates, growth };
}
