/**
 * The caps on open KvSessions, counted as watches are (watch-limits.ts): per client (a
 * certificate identity, or a plaintext connection) and per controller. A session stays open
 * while its client keeps it, with nothing in progress, and holds its stream and its headers (up
 * to 8 KiB) meanwhile: before (attack round 15), 10,000 sessions that each sent one Get and then
 * nothing, on 10 connections from one operator certificate, took a follower from 90 MB to
 * 330 MB, for good, and only the 60,000 connections bounded them. A client library holds one
 * session per controller it talks to (src/api/kv-session.ts), and each controller one to the
 * leader for the writes it forwards. Sessions write answers only to requests they took, under
 * their own flow control, so the watches' budget of unread bytes does not apply: the bytes of
 * their answers have budgets of their own, per session and per client (kv-session-answers.ts).
 */
import { WatchLimits, type WatchLimitsEvents, type WatchLimitsOptions } from './watch-limits.js';

/** Sessions one client may hold open on one controller. */
export const MAX_KV_SESSIONS_PER_CLIENT = 256;
/** Sessions one controller serves at once, from all clients. */
export const MAX_KV_SESSIONS = 10_000;

export const KV_SESSION_LIMITS: WatchLimitsOptions = {
  maxPerClient: MAX_KV_SESSIONS_PER_CLIENT,
  maxTotal: MAX_KV_SESSIONS,
  // Never held: sessions are not cut off for a budget.
  budgetBytes: Number.MAX_SAFE_INTEGER,
  words: {
    one: 'KvSession',
    many: 'KvSessions',
    perClientHint: 'close one, or send more requests on each (a session takes 1,024 at once)',
    totalHint: 'use another controller',
  },
};

export function kvSessionLimits(opts: Partial<WatchLimitsOptions> = {}, events: WatchLimitsEvents | null = null): WatchLimits {
  return new WatchLimits({ ...KV_SESSION_LIMITS, ...opts }, () => performance.now(), events);
}
