/** How table cells show numbers, durations and sizes. */

/** Fractions to at most two decimals; integers as they are. */
export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(2)));
}

/**
 * Durations the way etcdctl and kubectl print them: `112ms`, `4.3s`, `2m5s`, `3h10m`. About two
 * significant figures below a minute, whole units above: a table cell, not a measurement.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1) return ms === 0 ? '0s' : `${Number(ms.toPrecision(2))}ms`;
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)}s`;
  const totalSeconds = Math.round(ms / 1_000);
  if (totalSeconds < 3_600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return s === 0 ? `${m}m` : `${m}m${s}s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  if (totalMinutes < 48 * 60) {
    const h = Math.floor(totalMinutes / 60);
    const m = totalMinutes % 60;
    return m === 0 ? `${h}h` : `${h}h${m}m`;
  }
  return `${Math.round(totalMinutes / (24 * 60))}d`;
}

/** Bytes in binary units, as etcdctl's DB SIZE column: `20 kB` style but exact about 1024. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${Number(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`;
}
