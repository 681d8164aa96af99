import { printable } from './printable.js';

/**
 * The plain table etcdctl and kubectl print: a header row, columns padded with two spaces, no
 * borders or row separators, so it stays narrow and `awk`/`cut` can read it. A cell is one
 * line whatever it holds (printable.ts).
 */
export function plainTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const rows = body.map((r) => r.map(printable));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[head, ...rows].map(line).join('\n')}\n`;
}
