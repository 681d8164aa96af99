/**
 * A HubDriver over one state machine, for tests that run the real driver without a node:
 * this controller leads, hears a quorum and is online; reports are the test's to say.
 */
import pino from 'pino';
import { HubDriver, type HubDriverPort } from '../../src/agents/hub-driver.js';
import { StateMachine, agentsKind, meshKind, settingsKind } from '../../src/statemachine/index.js';
import { DETECTOR } from './hub-harness.js';

export function hubDriverOn(sm: StateMachine, reports: Pick<HubDriverPort, 'report' | 'meshReport' | 'readBarrier'>, sessionPrefix = 'c1:test'): HubDriver {
  return new HubDriver(
    { self: 'c1', detector: DETECTOR, pingIntervalMs: 250, electionTimeoutMs: 1000, stateSyncIntervalMs: 2000, sessionPrefix },
    {
      logger: pino({ level: 'silent' }),
      state: () => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), revision: sm.revision() }),
      clusterId: () => 'k',
      quorumContactAt: () => performance.now(),
      leading: () => true,
      replaying: () => false,
      controller: () => ({ online: true, silentMs: 0 }),
      wallClock: () => Date.now(),
      audit: () => undefined,
      ...reports,
    },
  );
}

/** A hub that is never started or served: only its metrics are read. */
export function idleHubDriver(): HubDriver {
  const never = (): never => {
    throw new Error('this hub never serves agents');
  };
  return hubDriverOn(new StateMachine(), { report: never, meshReport: never, readBarrier: never }, 'c1:idle');
}
