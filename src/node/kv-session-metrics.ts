/**
 * Prometheus metrics of the KvSessions a controller holds (src/api/kv-session-limits.ts): how
 * many are open, how many the caps refused.
 */
import type client from 'prom-client';
import { StreamLimitMetrics } from './stream-limit-metrics.js';

export class KvSessionMetrics extends StreamLimitMetrics {
  constructor(registry: client.Registry) {
    super(registry, {
      open: { name: 'controller_kv_sessions_open', help: 'KvSession streams (puts, gets and deletes of the client library, and forwards to the leader) open on this controller.' },
      undrained: null,
      refused: { name: 'controller_kv_sessions_refused_total', help: 'KvSessions refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.' },
      cutOff: null,
    });
  }
}
