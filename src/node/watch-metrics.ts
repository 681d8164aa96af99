/**
 * Prometheus metrics of the watches the Operator service holds (src/api/watch-limits.ts).
 */
import type client from 'prom-client';
import { StreamLimitMetrics } from './stream-limit-metrics.js';

export class WatchMetrics extends StreamLimitMetrics {
  constructor(registry: client.Registry) {
    super(registry, {
      open: { name: 'controller_watches_open', help: 'Watch streams (ctl watch) open on this controller.' },
      undrained: { name: 'controller_watch_undrained_bytes', help: 'Bytes written to watch streams and not yet read by their clients, all watches together; at the budget the watch whose bytes have waited longest unread is cut off.' },
      refused: { name: 'controller_watches_refused_total', help: 'Watches refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.' },
      cutOff: { name: 'controller_watches_cut_off_total', help: 'Watches cut off (RESOURCE_EXHAUSTED): budget = its bytes had waited longest unread when all watches together reached the budget.' },
    });
  }
}
