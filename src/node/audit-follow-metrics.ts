/**
 * Prometheus metrics of `ctl audit` streams: follows (src/api/audit-follows.ts), how many are
 * open, how many the caps refused and the budget cut off; listings (src/api/audit-listings.ts),
 * how many are open and refused.
 */
import type client from 'prom-client';
import { StreamLimitMetrics } from './stream-limit-metrics.js';

export class AuditFollowMetrics extends StreamLimitMetrics {
  constructor(registry: client.Registry) {
    super(registry, {
      open: { name: 'controller_audit_follows_open', help: 'Audit follow streams (ctl audit --follow) open on this controller.' },
      undrained: null,
      refused: { name: 'controller_audit_follows_refused_total', help: 'Audit follows refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.' },
      cutOff: { name: 'controller_audit_follows_cut_off_total', help: 'Audit follows cut off (RESOURCE_EXHAUSTED): budget = its event had waited longest unread when all follows together reached the budget.' },
    });
  }
}

export class AuditListingMetrics extends StreamLimitMetrics {
  constructor(registry: client.Registry) {
    super(registry, {
      open: { name: 'controller_audit_listings_open', help: 'Audit listings (ctl audit without --follow) open on this controller.' },
      undrained: null,
      refused: { name: 'controller_audit_listings_refused_total', help: 'Audit listings refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.' },
      cutOff: null,
    });
  }
}
