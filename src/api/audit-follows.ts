/**
 * The caps on `ctl audit --follow` streams, counted as the Operator service's watches are
 * (watch-limits.ts): per client and per controller, and one budget of bytes written to follow
 * streams and not yet read. Without them, 2,000 followers that read nothing and 900 events took a
 * controller from 93 MB to 376 MB (an adversarial test). A listing (no --follow) ends by itself
 * and is not counted.
 */
import { WatchLimits, type WatchLimitsEvents, type WatchLimitsOptions } from './watch-limits.js';
import type { AuditEventMsg } from './wire-types.js';

/** Follows one client (a certificate identity, or a plaintext connection) may hold open on one controller. */
export const MAX_AUDIT_FOLLOWS_PER_CLIENT = 16;
/** Follows one controller serves at once, from all clients. */
export const MAX_AUDIT_FOLLOWS = 256;
/** Bytes written to all follow streams and not yet read, at most: audit events are small, so this binds only stalled followers. */
export const AUDIT_FOLLOW_BUDGET_BYTES = 16 * 1024 * 1024;

export const AUDIT_FOLLOW_LIMITS: WatchLimitsOptions = {
  maxPerClient: MAX_AUDIT_FOLLOWS_PER_CLIENT,
  maxTotal: MAX_AUDIT_FOLLOWS,
  budgetBytes: AUDIT_FOLLOW_BUDGET_BYTES,
  words: {
    one: 'audit follow',
    many: 'audit follows',
    perClientHint: 'stop one (ctl audit --follow)',
    totalHint: 'follow through another controller',
  },
};

export function auditFollowLimits(opts: Partial<WatchLimitsOptions> = {}, events: WatchLimitsEvents | null = null): WatchLimits {
  return new WatchLimits({ ...AUDIT_FOLLOW_LIMITS, ...opts }, () => performance.now(), events);
}

/** gRPC's 5-byte frame, tags and lengths of an AuditEvent's seven strings, the note's number. */
const AUDIT_EVENT_OVERHEAD_BYTES = 32;

/** What an event's message holds queued or in its stream (an upper bound on its serialized size). */
export function auditEventBytes(e: AuditEventMsg): number {
  const strings = [e.time, e.node, e.type, e.subject, e.from, e.to, e.reason];
  if (e.dropped) strings.push(e.dropped.node, e.dropped.first, e.dropped.last, e.dropped.cause);
  return strings.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), AUDIT_EVENT_OVERHEAD_BYTES + (e.dropped ? 16 : 0));
}
