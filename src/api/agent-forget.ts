/**
 * `ctl delete agent ID`: an operator forgets an agent gone for good, before the leader's reaper
 * would (controller.agent_reconnect_timeout), as Consul's `force-leave` removes a failed node.
 * Only an offline agent: an online one would claim a new record at once, and removing it would
 * hide a live agent from `list agents`. The forget names the record's stream, so an agent that
 * reconnects before it commits keeps its record; the leader then removes the agent's declaration
 * and endpoints (src/agents/mesh-duties.ts).
 */
import {
  AGENT_ID_PATTERN,
  FORGET_AGENTS_VERSION,
  MAX_AGENT_ID_BYTES,
  agentsKind,
  clusterKind,
  encodeCommand,
  type AgentsReportOutcome,
  type ForgetEntry,
  type StateMachine,
} from '../statemachine/index.js';
import { entryTagOf, meshRetryOf } from './client-tag.js';
import type { ConsensusPort } from './consensus-port.js';
import type { DeleteResourceRequestMsg } from './mesh-ops.js';
import type { OnLeader } from './on-leader.js';
import { ServiceFailure } from './service-error.js';

export const OPERATOR_FORGET_REASON = 'forgotten by an operator (ctl delete agent)';

export interface AgentForgetDeps {
  /** The answering controller: the forget is its report. */
  readonly self: string;
  readonly host: ConsensusPort;
  readonly stateMachine: StateMachine;
  readonly onLeader: OnLeader;
}

export function forgetAgent(deps: AgentForgetDeps, req: DeleteResourceRequestMsg, deadline: number): Promise<{ revision: number }> {
  const id = req.name;
  if (!AGENT_ID_PATTERN.test(id) || Buffer.byteLength(id) > MAX_AGENT_ID_BYTES) throw new ServiceFailure('INVALID_ARGUMENT', `invalid agent id ${JSON.stringify(id.slice(0, 80))}`);
  const client = entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, req.clientRetry, req.clientOwner);
  // Judged on the leader, from its state: a follower's may not have applied the agent's latest record yet.
  const retry = meshRetryOf(req);
  return deps.onLeader('DeleteResource', req, deadline, async (remaining, retried) => {
    const cluster = deps.stateMachine.view(clusterKind);
    if (!cluster.supports(FORGET_AGENTS_VERSION)) {
      throw new ServiceFailure(
        'FAILED_PRECONDITION',
        `the cluster version is ${cluster.version}; forgetting an agent needs ${FORGET_AGENTS_VERSION} (every controller at ${FORGET_AGENTS_VERSION}.0 or later)`,
      );
    }
    const rec = deps.stateMachine.view(agentsKind).get(id);
    if (rec === null) throw new ServiceFailure('NOT_FOUND', `agent ${JSON.stringify(id)} not found`);
    if (rec.online) throw new ServiceFailure('FAILED_PRECONDITION', `agent ${JSON.stringify(id)} is online (connected to ${rec.controller}); only an offline agent can be forgotten`);
    const entry: ForgetEntry = { op: 'forget', id, session: rec.session, reason: OPERATOR_FORGET_REASON };
    const tag = retried ? entryTagOf(deps.stateMachine, req.clientId, req.clientSeq, true, req.clientOwner) : client;
    const r = await deps.host.propose(encodeCommand({ kind: 'agents', op: 'report', controller: deps.self, entries: [entry], ...(tag === null ? {} : { client: tag }) }), remaining);
    // STALE_REQUEST: an older seq; INVALID: its seq was another request's (dedup.ts).
    if (!r.ok) throw new ServiceFailure(r.code === 'STALE_REQUEST' || r.code === 'INVALID' ? 'INVALID_ARGUMENT' : 'INTERNAL', r.message);
    if ((r.value as AgentsReportOutcome | undefined)?.applied !== 1) {
      throw new ServiceFailure('FAILED_PRECONDITION', `agent ${JSON.stringify(id)} reconnected before the forget committed; its record is kept`);
    }
    return { revision: r.revision };
  }, retry);
}
