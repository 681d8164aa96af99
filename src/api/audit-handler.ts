/**
 * The server side of `ctl audit [--follow]`: the retained events since a time, then (following)
 * each new one. A client that does not read must not cost the controller memory without bound
 * (an adversarial test opened streams it never read): the replay waits for gRPC's buffer to
 * drain before each write, and a follower that falls MAX_FOLLOW_BACKLOG events behind, or
 * whose events queue that far during the replay, is ended with RESOURCE_EXHAUSTED; it can
 * reconnect with `--since` and lose nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { toServiceError } from './service-error.js';
import { isGone, writeWithBackpressure } from './stream-writer.js';
import type { AuditEventMsg, AuditRequestMsg } from './wire-types.js';

export const MAX_FOLLOW_BACKLOG = 1_000;

export interface AuditSource {
  readonly query: (sinceMs: number) => Promise<readonly AuditEventMsg[]>;
  readonly follow: (listener: (e: AuditEventMsg) => void) => () => void;
}

const identity = (e: AuditEventMsg): string => `${e.time}|${e.type}|${e.subject}|${e.to}`;

export function serveAudit(call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>, audit: AuditSource): void {
  const req = call.request;
  let unsubscribe: (() => void) | null = null;
  const stop = (): void => unsubscribe?.();
  const tooSlow = (behind: number): void => {
    stop();
    if (isGone(call as grpc.ServerWritableStream<unknown, unknown>)) return;
    const details = `the audit follower is ${behind} events behind (at most ${MAX_FOLLOW_BACKLOG}): it does not read; follow again with --since`;
    call.destroy(Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details }));
  };
  // Events that arrived during the replay, then those written while gRPC's buffer was full.
  const queued: AuditEventMsg[] = [];
  let replaying = true;
  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    void (async () => {
      try {
        while (queued.length > 0) await writeWithBackpressure(call, queued.shift()!);
      } catch {
        stop(); // the client went away
      } finally {
        draining = false;
      }
    })();
  };
  if (req.follow) {
    // Subscribe before replaying so nothing falls between the two.
    unsubscribe = audit.follow((e) => {
      queued.push(e);
      if (queued.length > MAX_FOLLOW_BACKLOG) tooSlow(queued.length);
      else if (!replaying) drain();
    });
    call.on('cancelled', stop);
    call.on('close', stop);
  }
  void (async () => {
    let events: readonly AuditEventMsg[];
    try {
      events = await audit.query(req.sinceMs);
    } catch (err) {
      stop();
      call.destroy(toServiceError(err));
      return;
    }
    const seen = new Set(events.map(identity));
    try {
      for (const e of events) await writeWithBackpressure(call, e);
    } catch {
      stop(); // the client went away
      return;
    }
    replaying = false;
    // What arrived during the replay and is not in it.
    const fresh = queued.splice(0).filter((e) => !seen.has(identity(e)));
    queued.push(...fresh);
    if (req.follow) drain();
    else call.end();
  })();
}
