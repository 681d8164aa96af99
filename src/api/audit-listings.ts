/**
 * The caps on `ctl audit` listings (no --follow). A listing ends by itself, but only as fast as
 * its client reads: each holds a page of events and its stream's buffer until then, and nothing
 * bounded how many a client could leave unread. So listings are counted as follows are (per
 * client and per controller, audit-follows.ts), and one whose client reads nothing for
 * AUDIT_LISTING_STALL_MS is cut off, as a stalled snapshot save is; `ctl audit` itself gives up
 * far sooner (its --timeout).
 */
import { AUDIT_FOLLOW_BUDGET_BYTES } from './audit-follows.js';
import { WatchLimits, type WatchLimitsEvents, type WatchLimitsOptions } from './watch-limits.js';

/** Listings one client (a certificate identity, or a plaintext connection) may hold open on one controller. */
export const MAX_AUDIT_LISTINGS_PER_CLIENT = 16;
/** Listings one controller serves at once, from all clients. */
export const MAX_AUDIT_LISTINGS = 256;
/** A listing whose client reads nothing for this long is cut off. */
export const AUDIT_LISTING_STALL_MS = 60_000;

export const AUDIT_LISTING_LIMITS: WatchLimitsOptions = {
  maxPerClient: MAX_AUDIT_LISTINGS_PER_CLIENT,
  maxTotal: MAX_AUDIT_LISTINGS,
  // Listings write with backpressure and never ask the budget for room: only the caps bind them.
  budgetBytes: AUDIT_FOLLOW_BUDGET_BYTES,
  words: {
    one: 'audit listing',
    many: 'audit listings',
    perClientHint: 'let one finish (ctl audit)',
    totalHint: 'list through another controller',
  },
};

export function auditListingLimits(opts: Partial<WatchLimitsOptions> = {}, events: WatchLimitsEvents | null = null): WatchLimits {
  return new WatchLimits({ ...AUDIT_LISTING_LIMITS, ...opts }, () => performance.now(), events);
}
