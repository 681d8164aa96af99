/**
 * One AgentSync stream as the hub tracks it, from its opening to its end, and the small helpers
 * the hub's parts share.
 */
import type { RateBudget } from '../util/rate-budget.js';
import type { AgentEpoch, RefusalCause } from '../statemachine/index.js';
import type { HubEffect } from './hub-types.js';
import type { StreamIdentity } from './identity.js';
import type { AgentLiveness } from './liveness.js';
import type { Hello } from './protocol.js';
import type { PushTracker } from './push-tracker.js';
import type { PublishStanding, StreamId } from './types.js';

export type Phase = 'hello' | 'queued' | 'waiting' | 'active';

export interface Session {
  readonly stream: StreamId;
  readonly openedAt: number;
  /** The stream's TLS identity: with TLS, the only agent id it may speak for. */
  readonly identity: StreamIdentity;
  readonly id: string;
  phase: Phase;
  hello: Hello | null;
  liveness: AgentLiveness | null;
  tracker: PushTracker | null;
  /** The committed record names this session (its claim is in the log). */
  confirmed: boolean;
  claimedAt: number;
  /**
   * When this controller admitted the stream and first claimed the agent for it, on its wall
   * clock: every claim of the stream says so from CLAIM_ORDER_VERSION (claim-openings.ts), a
   * claim made again included, so a stream's claim never looks newer than it is. Null until admitted.
   */
  admittedWall: number | null;
  /** The agents' transition seq this controller had applied then (claim-openings.ts `seen`). Null until admitted. */
  admittedSeq: number | null;
  /** The selection key whose target this session follows. */
  selection: string | null;
  /** Pushes sent on this stream and not yet in a report. */
  unreportedPushes: number;
  /** When the push in flight is reported as sent (STALE) if no reply came first; null: none due. */
  pushReportDue: number | null;
  /** Its publish was checked against the log once (a skipped identical re-publish is counted once). */
  publishChecked: boolean;
  /** The hosts its last publish check refused, and why: counted when first refused (publish-refusals.ts). */
  refusalsCounted: ReadonlyMap<string, RefusalCause>;
  /** Its publish was held back for controller.max_mesh_bytes, logged and audited (once per connection). */
  meshHeld: boolean;
  /** Its publish was held back for a protocol agents do not speak, logged and audited (once per connection). */
  protocolHeld: boolean;
  /** Its publish waited for the agent's allowance of changes (publish-damping.ts), counted once per connection. */
  publishDamped: boolean;
  /** Its usage messages (hub.USAGE_PER_SECOND): one past it is dropped unread. */
  readonly usageBudget: RateBudget;
  /**
   * Its last publish check left hosts out (refused, say for an exhausted range) or held the whole
   * declaration back: checked again every state_sync_interval, so room made (a wider
   * services.vip_cidr, a service deleted, a quarantine expired) publishes them without a reconnect.
   */
  publishWaiting: boolean;
  /** What the last publish check found, for `list agents` (null: not checked yet). */
  publish: PublishStanding | null;
  /**
   * A NACK this controller took on the agent's previous stream here (a departure or a takeover),
   * whose report may not have committed yet: it stands for this stream too.
   */
  inherited: LocalRejection | null;
}

/** A NACK a controller took, and the version the agent held when it sent it (null: nothing). */
export interface LocalRejection {
  readonly holds: number | null;
  readonly version: number;
  readonly error: string;
}

/** The NACK standing on this stream, committed or not; null: none. */
export function rejectionOf(s: Session): LocalRejection | null {
  const f = s.tracker?.fields();
  if (f === undefined || f.nackedVersion === null || f.lastError === null) return null;
  return { holds: f.ackedVersion, version: f.nackedVersion, error: f.lastError };
}

/**
 * Whether the agent process behind `hello` rejected `version` while holding what it holds. It
 * names the newest version it rejected; holding the same configuration, it rejected every version
 * it was offered up to that one (accepting any would have changed what it holds).
 */
export function rejectedByThisProcess(hello: Hello, version: number): boolean {
  return hello.rejectedVersion !== null && version <= hello.rejectedVersion;
}

/** True when `a` is an older connection of the same agent process than `b`. */
export function olderEpoch(a: AgentEpoch, b: AgentEpoch): boolean {
  return a.boot === b.boot && a.seq < b.seq;
}

export function emptySync(): { sentVersion: null; ackedVersion: null; nackedVersion: null; lastError: null; resources: number } {
  return { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 };
}

export function log(level: 'debug' | 'info' | 'warn', message: string, fields: Readonly<Record<string, unknown>>): HubEffect {
  return { type: 'log', level, message, fields };
}

