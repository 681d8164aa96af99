/**
 * Reports about one agent (`a1`) applied to a state machine, for the tests of the agents kind's
 * claim fences (superseded-boots, claim-openings): the entries and the store they read.
 */
import { AgentsStore } from '../../src/statemachine/agents.js';
import { StateMachine, agentsKind, type AgentReportEntry, type AgentsReportOutcome, type KindCommand } from '../../src/statemachine/index.js';
import { run } from './mesh-helpers.js';

export const INFO = { protocols: ['http'], lazy: false, dependencies: [], hosts: [] };
export const SYNC = { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 };

export const disconnect = (session: string): AgentReportEntry => ({ op: 'disconnect', id: 'a1', session, reason: 'stream closed', pushes: 0 });
export const forget = (session: string): AgentReportEntry => ({ op: 'forget', id: 'a1', session, reason: 'gone' });

/** Applies one entry reported by `controller`; throws when the command is refused. */
export function report(sm: StateMachine, controller: string, e: AgentReportEntry): AgentsReportOutcome {
  const r = run(sm, { kind: 'agents', op: 'report', controller, entries: [e] } as KindCommand);
  if (!r.ok) throw new Error(`report refused: ${r.message}`);
  return r.value as AgentsReportOutcome;
}

export function store(sm: StateMachine): AgentsStore {
  const s = sm.view(agentsKind);
  if (!(s instanceof AgentsStore)) throw new Error('the agents view is not the store');
  return s;
}
