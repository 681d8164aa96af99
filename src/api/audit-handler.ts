/**
 * The server side of `ctl audit [--follow]`: the retained events since a time, up to the newest
 * when asked (a listing), then, following, each new one. A client that asks for notes first gets
 * one when this controller could not write some events within that time (its trail lacks them),
 * and, following, one at each further loss. A client that does not read must not cost the controller memory without bound
 * (an adversarial test opened streams it never read): the replay waits for gRPC's buffer to
 * drain before each write, and a follower that falls MAX_FOLLOW_BACKLOG events behind, or
 * whose events queue that far during the replay, is ended with RESOURCE_EXHAUSTED; it can
 * reconnect with `--since` and lose nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { toServiceError } from './service-error.js';
import { failStream, isGone, writeWithBackpressure } from './stream-writer.js';
import type { AuditDroppedMsg, AuditEventMsg, AuditRequestMsg } from './wire-types.js';

export const MAX_FOLLOW_BACKLOG = 1_000;
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
}

/** A note on the stream: an AuditEvent with `dropped` set and nothing else. */
export function droppedNote(dropped: AuditDroppedMsg): AuditEventMsg {
  return { time: '', node: '', type: '', subject: '', from: '', to: '', reason: '', dropped };
}

export function serveAudit(call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, audit: AuditSource): void {
  const req = call.request;
  let unsubscribe: (() => void) | null = null;
  let unsubscribeDropped: (() => void) | null = null;
  const stop = (): void => {
    unsubscribe?.();
    unsubscribeDropped?.();
  };
  const tooSlow = (behind: number): void => {
    stop();
    const details = `the audit follower is ${behind} events behind (at most ${MAX_FOLLOW_BACKLOG}): it does not read; follow again with --since`;
    failStream(call as grpc.ServerWritableStream<unknown, unknown>, Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: new grpc.Metadata() }));
  };
  // Events that arrived during the replay, then those written while gRPC's buffer was full;
  // a note has no key.
  const queued: { readonly event: AuditEventMsg; readonly key: string | null }[] = [];
  let replaying = true;
  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    void (async () => {
      try {
        while (queued.length > 0) await writeWithBackpressure(call, queued.shift()!.event);
      } catch {
        stop(); // the client went away
      } finally {
        draining = false;
      }
    })();
  };
  if (req.follow) {
    // Subscribe before replaying so nothing falls between the two.
    const enqueue = (event: AuditEventMsg, key: string | null): void => {
      queued.push({ event, key });
      if (queued.length > MAX_FOLLOW_BACKLOG) tooSlow(queued.length);
      else if (!replaying) drain();
    };
    unsubscribe = audit.follow(enqueue);
    if (req.notes) unsubscribeDropped = audit.followDropped((d) => enqueue(droppedNote(d), null));
    call.on('cancelled', stop);
    call.on('close', stop);
  }
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
        for (const e of page.events) await writeWithBackpressure(call, e);
        if (page.last !== null) after = page.last;
        if (page.events.length < REPLAY_PAGE || isGone(call as grpc.ServerWritableStream<unknown, unknown>)) break;
      }
    } catch (err) {
      stop();
      failStream(call as grpc.ServerWritableStream<unknown, unknown>, toServiceError(err));
      return;
    }
    replaying = false;
    const replayedTo = after;
    const fresh = queued.splice(0).filter((q) => replayedTo === null || q.key === null || q.key > replayedTo);
    queued.push(...fresh);
    if (req.follow) drain();
    else call.end();
  })();
}
