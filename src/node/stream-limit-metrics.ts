/**
 * Prometheus metrics of streams held under caps and a budget of unread bytes (src/api/watch-limits.ts):
 * how many are open, how many the caps refused (per_client, total) and how many the budget cut off,
 * on the node's registry in metrics.ts's style (gauges read on scrape, counters bumped as things
 * happen, every series present from the start). `ctl watch`, `ctl audit --follow` and `ctl audit` listings each have a set.
 */
import client from 'prom-client';
import type { WatchLimits, WatchLimitsEvents, WatchRefusal } from '../api/watch-limits.js';

export interface StreamLimitMetricNames {
  readonly open: { readonly name: string; readonly help: string };
  /** The bytes written and not yet read, all streams together; null: not exposed. */
  readonly undrained: { readonly name: string; readonly help: string } | null;
  readonly refused: { readonly name: string; readonly help: string };
  /** Streams cut off for the budget; null: such streams are never cut off for it. */
  readonly cutOff: { readonly name: string; readonly help: string } | null;
}

export class StreamLimitMetrics implements WatchLimitsEvents {
  private readonly refusedTotal: client.Counter<'reason'>;
  private readonly cutOffTotal: client.Counter<'reason'> | null;
  private limits: WatchLimits | null = null;

  constructor(registry: client.Registry, names: StreamLimitMetricNames) {
    const registers = [registry];
    const limits = (): WatchLimits | null => this.limits;
    new client.Gauge({
      ...names.open,
      registers,
      collect() {
        this.set(limits()?.open ?? 0);
      },
    });
    if (names.undrained !== null) {
      new client.Gauge({
        ...names.undrained,
        registers,
        collect() {
          this.set(limits()?.undrained ?? 0);
        },
      });
    }
    this.refusedTotal = new client.Counter({ ...names.refused, labelNames: ['reason'], registers });
    this.cutOffTotal = names.cutOff === null ? null : new client.Counter({ ...names.cutOff, labelNames: ['reason'], registers });
    for (const reason of ['per_client', 'total'] satisfies WatchRefusal[]) this.refusedTotal.inc({ reason }, 0);
    this.cutOffTotal?.inc({ reason: 'budget' }, 0);
  }

  /** The limits to read the gauges from. */
  bind(limits: WatchLimits): void {
    this.limits = limits;
  }

  refused(reason: WatchRefusal): void {
    this.refusedTotal.inc({ reason });
  }

  cutOff(reason: 'budget'): void {
    this.cutOffTotal?.inc({ reason });
  }
}
