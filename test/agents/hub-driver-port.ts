/**
 * A HubDriver over one state machine, for tests that run the real driver without a node:
 * this controller leads, hears a quorum and is online; reports (and any other part of the
 * port) are the test's to say.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { HubDriver, type HubDriverPort } from '../../src/agents/hub-driver.js';
import type { HubOptions } from '../../src/agents/hub-types.js';
import { decodeControllerWire, type ControllerFrame } from '../../src/agents/sync-codec.js';
import type { ControllerMessageWire } from '../../src/agents/wire.js';
import { systemScheduler, type Scheduler } from '../../src/util/clock.js';
import { StateMachine, agentsKind, clusterKind, meshKind, settingsKind } from '../../src/statemachine/index.js';
import { DETECTOR } from './hub-harness.js';

export function hubDriverOn(
  sm: StateMachine,
  reports: Pick<HubDriverPort, 'report' | 'meshReport' | 'readBarrier'> & Partial<HubDriverPort>,
  sessionPrefix = 'c1:test',
  time: Scheduler = systemScheduler,
  options: Partial<HubOptions> = {},
): HubDriver {
  return new HubDriver(
    { self: 'c1', detector: DETECTOR, pingIntervalMs: 250, electionTimeoutMs: 1000, stateSyncIntervalMs: 2000, sessionPrefix, ...options },
    {
      logger: pino({ level: 'silent' }),
      state: () => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() }),
      clusterId: () => 'k',
      quorumContactAt: () => time.now(),
      leaderContactAt: () => time.now(),
      leading: () => true,
      replaying: () => false,
      controller: () => ({ online: true, silentMs: 0 }),
      wallClock: () => Date.now(),
      audit: () => undefined,
      liveElsewhere: () => Promise.resolve([]),
      ...reports,
    },
    time,
  );
}

/** An AgentSync stream as the driver sees it: what it writes is kept, decoded as an agent reads it. */
export class FakeCall extends EventEmitter {
  readonly written: ControllerMessageWire[] = [];
  /** When each message in `written` was written, on `clock`. */
  readonly writtenAt: number[] = [];

  constructor(private readonly clock: () => number = () => performance.now()) {
    super();
  }

  /** Write callbacks held back (`holdWrites`): the transport has not taken those messages. */
  readonly held: (() => void)[] = [];
  /** While true, written messages are not taken by the transport, as when the agent does not read. */
  holdWrites = false;

  write(m: ControllerFrame, taken?: () => void): boolean {
    // Pushes come encoded (their shared bytes and the nonce): read them as an agent would.
    this.written.push(Buffer.isBuffer(m) ? decodeControllerWire(m) : m);
    this.writtenAt.push(this.clock());
    if (taken !== undefined) {
      if (this.holdWrites) this.held.push(taken);
      else taken();
    }
    return !this.holdWrites;
  }
  /** What the transport says of the caller: nothing (plaintext), or with TLS the client certificate's subject. */
  authContext: { readonly transportSecurityType: 'ssl'; readonly sslPeerCertificate: { readonly subject: { readonly CN: string } } } | undefined = undefined;

  getAuthContext(): FakeCall['authContext'] {
    return this.authContext;
  }
}

/** A hub that is never started or served: only its metrics are read. */
export function idleHubDriver(): HubDriver {
  const never = (): never => {
    throw new Error('this hub never serves agents');
  };
  return hubDriverOn(new StateMachine(), { report: never, meshReport: never, readBarrier: never }, 'c1:idle');
}
