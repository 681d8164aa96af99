/**
 * The mesh kind's committed transitions as audit events (recorded by every controller once, in
 * commit order, like agent.status).
 */
import type { MeshTransition } from '../statemachine/index.js';
import { formatDuration } from '../config/duration.js';
import type { HubAudit } from './hub-types.js';

export function meshAudit(t: MeshTransition): HubAudit {
  switch (t.type) {
    case 'vip.assigned':
      return { type: 'service.vip.assigned', subject: t.service, from: null, to: t.vip, reason: `allocated from ${t.range} (${t.by})` };
    case 'vip.released':
      return {
        type: 'service.vip.released',
        subject: t.service,
        from: t.vip,
        to: null,
        reason: `${t.cause === 'expired' ? 'service expired: agents published it and none lists it any more' : 'service deleted'}; the address is quarantined for services.vip_quarantine`,
      };
    case 'publish.refused':
      return { type: 'service.publish.refused', subject: t.service, from: null, to: t.agent, reason: `agent ${t.agent}: ${t.reason}` };
    case 'declaration.forgotten':
      return {
        type: 'agent.declaration.forgotten',
        subject: t.agent,
        from: null,
        to: null,
        reason: t.endpoints.length === 0 ? 'the agent\'s record is gone' : `the agent's record is gone; its endpoints left ${t.endpoints.join(', ')}`,
      };
    case 'dependency.added':
      return { type: 'agent.dependency.added', subject: t.agent, from: null, to: t.name, reason: t.pending ? 'observed via /resolve; no such service yet (pending)' : 'observed via /resolve' };
    case 'dependency.expiring':
      return { type: 'agent.dependency.expiring', subject: t.agent, from: 'active', to: t.name, reason: `unused for ${formatDuration(t.unusedMs)}` };
    case 'dependency.expired':
      return { type: 'agent.dependency.expired', subject: t.agent, from: t.name, to: null, reason: `unused for ${formatDuration(t.unusedMs)}` };
    case 'dependency.removed':
      return { type: 'agent.dependency.removed', subject: t.agent, from: t.name, to: null, reason: t.reason };
    default: {
      const never: never = t;
      return never;
    }
  }
}
