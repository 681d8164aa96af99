/**
 * The ACK tracker of one agent on one stream: what it acknowledged, what is in flight, what it
 * rejected, and from that whether to push. The rules, each a test in test/agents/push-rules.test.ts:
 *
 * 1. One push in flight at a time. A new version waits for the reply to the previous push, so
 *    an agent that never answers holds one push and one manifest, and gets no re-send loop.
 * 2. A NACK leaves the acknowledged version as it was and is not followed by a re-send: the
 *    next push comes only with a version other than the rejected one.
 * 3. A reply whose nonce is not the one in flight (stale, repeated or never sent) changes
 *    nothing; nor does an ACK whose version is not the version pushed with that nonce.
 * 4. Nothing is pushed for the version the agent already acknowledged (or reported holding on
 *    connecting): a reconnect with the current version costs no configuration bytes.
 * 5. A push carries the delta from the acknowledged manifest to the wanted one.
 */
import { cutError, type AgentSyncFields } from '../statemachine/index.js';
import type { Manifest, ManifestStore } from './manifest.js';
import type { AgentState } from './types.js';

export interface InFlight {
  readonly nonce: number;
  readonly target: Manifest;
}

export type ReplyOutcome =
  | { readonly type: 'acked'; readonly version: number }
  | { readonly type: 'nacked'; readonly version: number; readonly error: string }
  | { readonly type: 'ignored'; readonly reason: IgnoredReason };

export type IgnoredReason = 'stale-nonce' | 'unknown-nonce' | 'version-mismatch';

/** A push to make now: the delta from `base` (null: everything) to `target`. */
export interface PushDecision {
  readonly base: Manifest | null;
  readonly target: Manifest;
}

export class PushTracker {
  private acked: Manifest | null;
  private inFlight: InFlight | null = null;
  private lastSentVersion: number | null = null;
  private nacked: { readonly version: number; readonly error: string } | null = null;
  /** A committed rejection that came while a push was in flight (adoptRejection). */
  private deferredRejection: { readonly version: number; readonly error: string } | null = null;
  /** The highest nonce this tracker ever sent; anything above it was never sent here. */
  private highestNonce = 0;
  /** Configuration messages sent on this stream. */
  pushes = 0;

  /**
   * `acked`: what the agent reported holding (already counted in `store` for this tracker), or
   * null. `rejected`: a version the agent already NACKed holding `acked` (the committed record
   * says so; an agent that holds nothing yet included), so a reconnect does not make the
   * rejected version go out again.
   */
  constructor(
    private readonly store: ManifestStore,
    acked: Manifest | null,
    rejected: { readonly version: number; readonly error: string } | null = null,
  ) {
    this.acked = acked;
    this.lastSentVersion = acked?.version ?? null;
    if (rejected !== null && (acked === null || rejected.version > acked.version)) {
      this.nacked = rejected;
      this.lastSentVersion = rejected.version;
    }
  }

  /**
   * A NACK committed for the state this agent is in, by an earlier stream of it (the record
   * arrived after this stream began: this controller lagged): the rejected version is not sent
   * again, as if it had been known at the start. While a push is in flight it is kept until the
   * reply: after a NACK the newer rejection is the one the tracker (and so the next report)
   * holds, after an ACK it no longer applies. A rejection no newer than the one known changes
   * nothing.
   */
  adoptRejection(rejected: { readonly version: number; readonly error: string }): void {
    if (this.nacked !== null && this.nacked.version >= rejected.version) return;
    if (this.acked !== null && rejected.version <= this.acked.version) return;
    if (this.inFlight !== null) {
      // Decided when the reply comes: it stands if the agent still holds what it held.
      if (this.deferredRejection === null || this.deferredRejection.version < rejected.version) this.deferredRejection = rejected;
      return;
    }
    this.nacked = rejected;
    this.lastSentVersion = rejected.version;
  }

  get ackedManifest(): Manifest | null {
    return this.acked;
  }

  get inFlightPush(): InFlight | null {
    return this.inFlight;
  }

  /** Rules 1, 2 and 4: whether to push `wanted` now. */
  decide(wanted: Manifest): PushDecision | null {
    if (this.inFlight !== null) return null;
    if (this.acked !== null && this.acked.version === wanted.version) return null;
    if (this.nacked !== null && this.nacked.version === wanted.version) return null;
    return { base: this.acked, target: wanted };
  }

  /** The push decided was sent with `nonce` (nonces increase across the whole hub). */
  sent(nonce: number, target: Manifest): void {
    this.store.retain(target);
    this.inFlight = { nonce, target };
    this.lastSentVersion = target.version;
    this.highestNonce = Math.max(this.highestNonce, nonce);
    this.pushes++;
  }

  /** Rule 3 on an ACK. */
  ack(nonce: number, version: number): ReplyOutcome {
    const ignored = this.check(nonce);
    if (ignored !== null) return ignored;
    const flight = this.inFlight!;
    if (version !== flight.target.version) return { type: 'ignored', reason: 'version-mismatch' };
    this.store.release(this.acked);
    this.acked = flight.target;
    this.inFlight = null;
    // It holds something else now: a rejection of what it held before no longer applies.
    this.deferredRejection = null;
    // A later version accepted supersedes an earlier rejection.
    if (this.nacked !== null && this.nacked.version <= version) this.nacked = null;
    return { type: 'acked', version };
  }

  /** Rules 2 and 3 on a NACK: the agent keeps what it acknowledged before. */
  nack(nonce: number, error: string): ReplyOutcome {
    const ignored = this.check(nonce);
    if (ignored !== null) return ignored;
    const flight = this.inFlight!;
    this.store.release(flight.target);
    this.inFlight = null;
    const rejected = { version: flight.target.version, error: cutError(error.length === 0 ? 'rejected without a reason' : error) };
    this.nacked = rejected;
    const deferred = this.deferredRejection;
    this.deferredRejection = null;
    if (deferred !== null && deferred.version > rejected.version) {
      this.nacked = deferred;
      this.lastSentVersion = deferred.version;
    }
    return { type: 'nacked', version: rejected.version, error: rejected.error };
  }

  private check(nonce: number): ReplyOutcome | null {
    if (this.inFlight !== null && nonce === this.inFlight.nonce) return null;
    return { type: 'ignored', reason: nonce > 0 && nonce <= this.highestNonce ? 'stale-nonce' : 'unknown-nonce' };
  }

  /** The state `list agents` shows, against the version the cluster has for this agent. */
  state(wantedVersion: number): AgentState {
    return agentState(this.fields(), wantedVersion);
  }

  fields(): AgentSyncFields {
    return {
      sentVersion: this.lastSentVersion,
      ackedVersion: this.acked?.version ?? null,
      nackedVersion: this.nacked?.version ?? null,
      lastError: this.nacked?.error ?? null,
      resources: this.acked?.size ?? 0,
    };
  }

  /** The stream ended: give back every manifest reference this tracker holds. */
  release(): void {
    this.store.release(this.acked);
    this.store.release(this.inFlight?.target ?? null);
    this.acked = null;
    this.inFlight = null;
  }
}

/**
 * The state from the recorded versions, so every controller computes the same one from the
 * committed record: SYNCED when the acknowledged version is the wanted one; NACKED when the
 * last version sent was rejected; STALE when the last version sent is awaiting its reply;
 * NOT_SENT otherwise (nothing sent, or the wanted version not sent yet).
 */
export function agentState(f: AgentSyncFields, wantedVersion: number): AgentState {
  if (f.ackedVersion !== null && f.ackedVersion === wantedVersion) return 'SYNCED';
  if (f.sentVersion === null) return 'NOT_SENT';
  if (f.nackedVersion !== null && f.nackedVersion === f.sentVersion) return 'NACKED';
  if (f.ackedVersion !== f.sentVersion) return 'STALE';
  return 'NOT_SENT';
}
