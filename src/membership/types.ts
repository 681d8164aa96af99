/**
 * Plain data shared by the membership core: a member's status as one node observes it, and the
 * transitions the failure detector reports. Node ids are the cluster config's ids.
 */
import type { NodeId } from '../raft/types.js';

export type { NodeId };

export type MemberStatus = 'online' | 'offline';

export const MEMBER_STATUSES: readonly MemberStatus[] = ['online', 'offline'];

/** A status as `list controllers` shows it: `unknown` until somebody has heard from the member. */
export type ShownStatus = MemberStatus | 'unknown';

export const SHOWN_STATUSES: readonly ShownStatus[] = ['online', 'offline', 'unknown'];

/** A change of one peer's locally observed status. */
export interface StatusTransition {
  readonly peer: NodeId;
  readonly from: MemberStatus;
  readonly to: MemberStatus;
  /** "heartbeat timeout 2230ms" or "heartbeat resumed". */
  readonly reason: string;
  /** When the detector noticed, on the caller's clock. */
  readonly atMs: number;
  /** An offline transition of a peer whose messages arrive while this node cannot dial it. */
  readonly undialable?: true;
}

/** The local detector's state for one peer, without RTT percentiles (cheap). */
export interface PeerObservation {
  readonly peer: NodeId;
  readonly status: MemberStatus;
  /** ms since the last message from the peer; null when it has never been heard from. */
  readonly lastContactMs: number | null;
  /**
   * The silence the detector counts against the peer: `lastContactMs` without our own stalls
   * (the peer times out when it exceeds `timeoutMs`); null when never heard from.
   */
  readonly silenceMs: number | null;
  /** The timeout in force, rounded to whole ms. */
  readonly timeoutMs: number;
  /** When `status` last changed (caller's clock); null while it is the initial one. */
  readonly changedAt: number | null;
}

/** What `ctl list controllers` needs from the local detector for one peer. */
export interface PeerSnapshot {
  readonly peer: NodeId;
  readonly status: MemberStatus;
  /** ms since the last message from the peer; null when it has never been heard from. */
  readonly lastContactMs: number | null;
  readonly timeoutMs: number;
  /** null until the first RTT sample. */
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
}
