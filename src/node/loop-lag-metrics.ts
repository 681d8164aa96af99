/**
 * nodejs_eventloop_lag_*, the names and meanings of prom-client's defaults, read from the
 * periodic-timer grid's wake-ups (src/util/loop-lag.ts) instead of a sampling timer of their
 * own: the same statistics over the samples since the last scrape, at no wake-up's cost.
 */
import client from 'prom-client';
import type { LagStats, LagWindow } from '../util/loop-lag.js';

/** prom-client's names, which its defaults register and we replace. */
export const LOOP_LAG_METRICS = {
  min: 'nodejs_eventloop_lag_min_seconds',
  max: 'nodejs_eventloop_lag_max_seconds',
  mean: 'nodejs_eventloop_lag_mean_seconds',
  stddev: 'nodejs_eventloop_lag_stddev_seconds',
  p50: 'nodejs_eventloop_lag_p50_seconds',
  p90: 'nodejs_eventloop_lag_p90_seconds',
  p99: 'nodejs_eventloop_lag_p99_seconds',
} as const satisfies Record<keyof LagStats, string>;
export const LOOP_LAG_LAST = 'nodejs_eventloop_lag_seconds';

const HELP: Record<keyof LagStats, string> = {
  min: 'The minimum recorded event loop delay.',
  max: 'The maximum recorded event loop delay.',
  mean: 'The mean of the recorded event loop delays.',
  stddev: 'The standard deviation of the recorded event loop delays.',
  p50: 'The 50th percentile of the recorded event loop delays.',
  p90: 'The 90th percentile of the recorded event loop delays.',
  p99: 'The 99th percentile of the recorded event loop delays.',
};

/** Registers the lag gauges on `registry`, read from `window` at each scrape. */
export function registerLoopLag(registry: client.Registry, window: LagWindow): void {
  const registers = [registry];
  const gauges = new Map<keyof LagStats, client.Gauge>();
  // Registered first, as prom-client registers its own: a scrape reads the metrics in the order
  // they were registered, each as it stands when reached, so the one collect that sets the
  // others must come before them, or they would show the previous scrape's samples.
  new client.Gauge({
    name: LOOP_LAG_LAST,
    help: 'Lag of event loop in seconds: how late the last periodic-timer wake-up came.',
    registers,
    // One collect sets every lag gauge, from the samples since the last scrape (then reset).
    collect() {
      this.set(window.lastSeconds);
      const stats = window.take();
      if (stats === null) return; // no wake-up since the last scrape: the gauges keep their values
      for (const [key, gauge] of gauges) gauge.set(stats[key]);
    },
  });
  for (const key of Object.keys(LOOP_LAG_METRICS) as Array<keyof LagStats>) {
    gauges.set(key, new client.Gauge({ name: LOOP_LAG_METRICS[key], help: HELP[key], registers }));
  }
}
