/**
 * Prometheus metrics of `ctl audit --follow` streams (src/api/audit-follows.ts), in
 * watch-metrics.ts's style: how many are open, how many the caps refused and the budget cut off.
 */
import client from 'prom-client';
import type { WatchLimits, WatchLimitsEvents, WatchRefusal } from '../api/watch-limits.js';

export class AuditFollowMetrics implements WatchLimitsEvents {
  private readonly refusedTotal: client.Counter<'reason'>;
  private readonly cutOffTotal: client.Counter<'reason'>;
  private limits: WatchLimits | null = null;

  constructor(registry: client.Registry) {
    const registers = [registry];
    const limits = (): WatchLimits | null => this.limits;
    new client.Gauge({
      name: 'controller_audit_follows_open',
      help: 'Audit follow streams (ctl audit --follow) open on this controller.',
      registers,
      collect() {
        this.set(limits()?.open ?? 0);
      },
    });
    this.refusedTotal = new client.Counter({
      name: 'controller_audit_follows_refused_total',
      help: 'Audit follows refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.',
      labelNames: ['reason'],
      registers,
    });
    this.cutOffTotal = new client.Counter({
      name: 'controller_audit_follows_cut_off_total',
      help: 'Audit follows cut off (RESOURCE_EXHAUSTED): budget = its event had waited longest unread when all follows together reached the budget.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['per_client', 'total'] satisfies WatchRefusal[]) this.refusedTotal.inc({ reason }, 0);
    this.cutOffTotal.inc({ reason: 'budget' }, 0);
  }

  /** The limits to read the gauge from. */
  bind(limits: WatchLimits): void {
    this.limits = limits;
  }

  refused(reason: WatchRefusal): void {
    this.refusedTotal.inc({ reason });
  }

  cutOff(reason: 'budget'): void {
    this.cutOffTotal.inc({ reason });
  }
}
