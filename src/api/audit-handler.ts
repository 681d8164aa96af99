/**
 * The server side of `ctl audit [--follow]`: the retained events since a time, up to the newest
 * when asked (a listing), then, following, each new one. A client that asks for notes first gets
 * one when this controller could not write some events within that time (its trail lacks them),
 * and, following, one at each further loss. A client that does not read must not cost the controller memory without bound
 * (an adversarial test opened streams it never read): the replay waits for gRPC's buffer to
 * drain before each write, and a follower that falls MAX_FOLLOW_BACKLOG events (or
 * MAX_FOLLOW_BACKLOG_BYTES) behind, or whose events queue that far during the replay, is ended
 * with RESOURCE_EXHAUSTED; it can reconnect with `--since` and lose nothing. Follows are counted
 * as watches are (audit-follows.ts: per client, per controller, and a budget of bytes written and
 * not yet read), and, as a watch, a follower writes one event at a time once the replay is done.
 * Listings are counted too (audit-listings.ts), and a replay whose client reads nothing for the
 * listings' stall time is cut off.
 */
import * as grpc from '@grpc/grpc-js';
import { auditEventBytes, auditFollowLimits } from './audit-follows.js';
import { AUDIT_LISTING_STALL_MS, auditListingLimits } from './audit-listings.js';
import { ServiceFailure, toServiceError } from './service-error.js';
import { cutOff, failStream, isGone, writeAndWait, writeWithBackpressure } from './stream-writer.js';
import type { OpenStreams } from './open-streams.js';
import { watchClientOf } from './watch-client.js';
import type { WatchLease, WatchLimits } from './watch-limits.js';
import type { AuditDroppedMsg, AuditEventMsg, AuditRequestMsg } from './wire-types.js';

export const MAX_FOLLOW_BACKLOG = 1_000;
/** Bytes of events queued for one follower at most: 256 follows hold 64 MiB at worst. */
export const MAX_FOLLOW_BACKLOG_BYTES = 256 * 1024;
/** Events read from the store at a time: a replay holds one page, however long the trail. */
export const REPLAY_PAGE = 256;

export interface AuditSource {
  /** Events at or after `sinceMs`, after key `after` and at or before key `until` (null: no end), at most `limit`, the oldest first. */
  readonly page: (
    sinceMs: number,
    after: string | null,
    limit: number,
    until: string | null,
  ) => Promise<{ readonly events: readonly AuditEventMsg[]; readonly last: string | null }>;
  /** The newest event's key, null when there is none. */
  readonly end: () => Promise<string | null>;
  /** `key` orders events as page's keys do. */
  readonly follow: (listener: (e: AuditEventMsg, key: string) => void) => () => void;
  /** Events this controller could not write to its store; null while there were none. */
  readonly dropped: () => AuditDroppedMsg | null;
  /** Calls `listener` at each event not written from now on. */
  readonly followDropped: (listener: (d: AuditDroppedMsg) => void) => () => void;
  /** The clock this trail's events are stamped by (ms since the epoch); absent: Date.now. */
  readonly now?: () => number;
}

/** A note on the stream: an AuditEvent with `dropped` set and nothing else. */
export function droppedNote(dropped: AuditDroppedMsg): AuditEventMsg {
  return { time: '', node: '', type: '', subject: '', from: '', to: '', reason: '', dropped };
}

/** What a controller's audit streams may hold: follows, listings, and how long a replay may wait for its client. */
export interface AuditLimits {
  readonly follows: WatchLimits;
  readonly listings: WatchLimits;
  readonly replayStallMs: number;
  /** Where follows register so a stopping controller ends them with SHUTTING_DOWN (open-streams.ts). */
  readonly open?: OpenStreams;
}

export function auditLimits(given: Partial<AuditLimits> = {}): AuditLimits {
  return {
    follows: given.follows ?? auditFollowLimits(),
    listings: given.listings ?? auditListingLimits(),
    replayStallMs: given.replayStallMs ?? AUDIT_LISTING_STALL_MS,
    ...(given.open === undefined ? {} : { open: given.open }),
  };
}

/**
 * Where a listing starts: `sinceAgoMs` before this trail's own clock when the client sent it,
 * so a client whose clock is ahead (a laptop 10 minutes fast asking `--since 5m`) still sees
 * the newest events, which were stamped by this clock; else `sinceMs`, as an older client asks.
 */
export function sinceOf(req: Pick<AuditRequestMsg, 'sinceMs' | 'sinceAgoMs'>, now: () => number): number {
  const ago = req.sinceAgoMs ?? 0;
  return Number.isFinite(ago) && ago > 0 ? Math.max(1, now() - ago) : req.sinceMs;
}

export function serveAudit(
  call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>,
  audit: AuditSource,
  limits: AuditLimits = auditLimits(),
): void {
  const req = { ...call.request, sinceMs: sinceOf(call.request, audit.now ?? Date.now) };
  const stream = call as grpc.ServerWritableStream<unknown, unknown>;
  let unsubscribe: (() => void) | null = null;
  let unsubscribeDropped: (() => void) | null = null;
  let ended = false;
  const stop = (): void => {
    ended = true;
    unsubscribe?.();
    unsubscribeDropped?.();
  };
  const fail = (details: string): void => {
    stop();
    failStream(stream, toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', details)));
  };
  // Events that arrived during the replay, then those not yet written; a note has no key.
  const queued: { readonly event: AuditEventMsg; readonly key: string | null; readonly bytes: number }[] = [];
  let queuedBytes = 0;
  /** An event is written and not yet handed on: a status would wait behind it. */
  let writing = false;
  let lease: WatchLease | null = null;
  let replaying = true;
  const client = watchClientOf(call);
  /** A listing's place, given back when it ends however it ends. */
  let listing: WatchLease | null = null;
  if (!req.follow) {
    // A listing is never cut off for the budget: it asks the budget for nothing.
    const admission = limits.listings.admit(client.key, client.name, () => undefined);
    if (!admission.ok) {
      failStream(stream, toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', admission.message)));
      return;
    }
    listing = admission.lease;
    const release = (): void => admission.lease.close();
    call.on('cancelled', release);
    call.on('close', release);
  } else {
    const admission = limits.follows.admit(client.key, client.name, (reason) => {
      if (!writing) {
        fail(`${reason}; follow again with --since`);
        return;
      }
      // Only a reset lets go of the bytes now; its client sees RESOURCE_EXHAUSTED.
      stop();
      cutOff(stream, 'exhausted');
    });
    if (!admission.ok) {
      failStream(stream, toServiceError(new ServiceFailure('RESOURCE_EXHAUSTED', admission.message)));
      return;
    }
    lease = admission.lease;
    const untrack = limits.open?.add(
      (reason) => {
        stop();
        failStream(stream, toServiceError(new ServiceFailure('SHUTTING_DOWN', reason)));
      },
      {
        call,
        refuse: (status) => {
          stop();
          failStream(stream, status);
        },
      },
    );
    if (untrack !== undefined) call.on('close', untrack);
  }
  const tooSlow = (): void => {
    const behind = queued.length > MAX_FOLLOW_BACKLOG ? `${queued.length} events` : `${queuedBytes} bytes of events`;
    fail(`the audit follower is ${behind} behind (at most ${MAX_FOLLOW_BACKLOG} events, ${MAX_FOLLOW_BACKLOG_BYTES} bytes): it does not read; follow again with --since`);
  };
  let draining = false;
  const drain = (held: WatchLease): void => {
    if (draining) return;
    draining = true;
    void (async () => {
      try {
        while (queued.length > 0 && !ended) {
          const { event, bytes } = queued.shift()!;
          queuedBytes -= bytes;
          writing = true;
          // Waits while the follows' budget is full and those cut off to make room close.
          if (!(await held.hold(bytes))) return;
          try {
            await writeAndWait(call, event);
          } finally {
            held.drained(bytes);
          }
          writing = false;
        }
      } catch {
        stop(); // the client went away (writeAndWait's StreamClosedError)
      } finally {
        writing = false;
        draining = false;
      }
    })();
  };
  if (lease !== null) {
    const held = lease;
    // Subscribe before replaying so nothing falls between the two.
    const enqueue = (event: AuditEventMsg, key: string | null): void => {
      if (ended) return;
      const bytes = auditEventBytes(event);
      queued.push({ event, key, bytes });
      queuedBytes += bytes;
      if (queued.length > MAX_FOLLOW_BACKLOG || queuedBytes > MAX_FOLLOW_BACKLOG_BYTES) tooSlow();
      else if (!replaying) drain(held);
    };
    unsubscribe = audit.follow(enqueue);
    if (req.notes) unsubscribeDropped = audit.followDropped((d) => enqueue(droppedNote(d), null));
    const release = (): void => {
      stop();
      held.close();
    };
    call.on('cancelled', release);
    call.on('close', release);
  }
  /** A client that reads nothing for replayStallMs would not read a status either: cut off. */
  const replayWrite = async (e: AuditEventMsg): Promise<void> => {
    const stalled = setTimeout(() => {
      stop();
      cutOff(stream);
    }, limits.replayStallMs);
    // The server keeps a controller alive; this must not keep anything else (a test) alive.
    stalled.unref();
    try {
      await writeWithBackpressure(call, e);
    } finally {
      clearTimeout(stalled);
    }
  };
  void (async () => {
    // Page by page, each written as the client reads. A follower's pages reach events appended
    // during the replay too, so it ends at the store's end and the queue keeps what is after it;
    // a one-off listing ends where the trail ended when it asked, or a trail growing as fast as
    // the client reads would keep it going.
    let after: string | null = null;
    try {
      // Only losses within the asked time: older ones are not in what the client asked for.
      const dropped = req.notes ? audit.dropped() : null;
      if (dropped !== null && Date.parse(dropped.last) >= req.sinceMs) await writeWithBackpressure(call, droppedNote(dropped));
      const until = req.follow ? null : await audit.end();
      for (;;) {
        if (!req.follow && until === null) break;
        const page = await audit.page(req.sinceMs, after, REPLAY_PAGE, until);
        for (const e of page.events) await replayWrite(e);
        if (page.last !== null) after = page.last;
        if (page.events.length < REPLAY_PAGE || isGone(call as grpc.ServerWritableStream<unknown, unknown>)) break;
      }
    } catch (err) {
      stop();
      listing?.close();
      failStream(stream, toServiceError(err));
      return;
    }
    replaying = false;
    if (lease === null) {
      listing?.close();
      call.end();
      return;
    }
    const replayedTo = after;
    const fresh = queued.splice(0).filter((q) => replayedTo === null || q.key === null || q.key > replayedTo);
    queued.push(...fresh);
    queuedBytes = fresh.reduce((n, q) => n + q.bytes, 0);
    drain(lease);
  })();
}
