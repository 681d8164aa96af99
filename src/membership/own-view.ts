/**
 * Glue between a node's detector and the views it sends and judges: what goes into its own
 * view and how long received views may vote. When the node counts as stale is
 * MembershipEngine.stale (its connection) and MembershipEngine.view (its answers).
 */
import type { NodeId } from './types.js';
import type { FailureDetector } from './failure-detector.js';
import type { MemberView, ViewEntry } from './view-codec.js';

export interface OwnViewInput {
  readonly self: NodeId;
  readonly incarnation: number;
  readonly seq: number;
  /** This node is not stale (MembershipEngine.stale: it hears a quorum). */
  readonly connected: boolean;
  readonly appliedIndex: number;
  /** This node's software version; null: not known. */
  readonly version: string | null;
  readonly members: readonly NodeId[];
  readonly detector: FailureDetector;
  readonly now: number;
}

/** This node's view of every member it watches (itself: online, heard 0 ms ago). */
export function ownView(input: OwnViewInput): MemberView {
  const entries: ViewEntry[] = [];
  for (const id of input.members) {
    if (id === input.self) {
      entries.push({ id, status: 'online', lastContactAgoMs: 0, timeoutMs: 0 });
    } else if (input.detector.has(id)) {
      const s = input.detector.observation(id, input.now);
      // The silence the detector counts, not the raw time since contact: a view sent just after
      // our own stall must not tell its readers that everyone has been silent for the stall.
      entries.push({ id, status: s.status, lastContactAgoMs: s.silenceMs, timeoutMs: s.timeoutMs });
    }
  }
  return { reporter: input.self, incarnation: input.incarnation, seq: input.seq >>> 0, connected: input.connected, appliedIndex: input.appliedIndex, version: input.version, entries };
}

/**
 * How long a received view may vote. Long enough to bridge a few lost or jittered pings (3
 * intervals: 0.75 x base at the default interval), at most 0.75 x the base timeout: an
 * isolated leader must see its reporters' views expire before its own detector times them out
 * (status-aggregator rule 2; at a full base timeout the 11-node simulation caught one such
 * stale verdict, seed 17).
 */
export function defaultViewTtlMs(baseTimeoutMs: number, pingIntervalMs: number): number {
  return Math.min(0.75 * baseTimeoutMs, Math.max(3 * pingIntervalMs, baseTimeoutMs / 2));
}

/**
 * How long after its arrival a view is read forward in time (status-aggregator, `ViewAging`).
 * Two ping intervals: a healthy reporter sends a newer view well within that, so only the
 * reporter whose detector is about to fire is read ahead, in the time its push would take. At
 * most a quarter of the smallest timeout, so that reading a view forward (by up to the horizon,
 * plus a transit estimate capped at the horizon) cannot time out a member that its reporter
 * heard within the last half of that timeout (docs/membership.md, section 3).
 */
export function defaultAgingHorizonMs(pingIntervalMs: number, minTimeoutMs: number): number {
  return Math.min(2 * pingIntervalMs, minTimeoutMs / 4);
}
