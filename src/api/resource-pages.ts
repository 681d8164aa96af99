/**
 * `ctl get services|routes` in pages: one unary answer of a whole mesh cost its controller seconds
 * to serialize (and failed past 64 MiB), so the server answers a page at a time, in name order, and
 * the client asks for the next page after the last name it has. A page is bounded by count and by
 * bytes, so serializing one stays cheap whatever the mesh holds.
 *
 * Pages are read one after another, each at the revision it was read at (the mesh keeps no
 * history, unlike etcd's MVCC): a resource created or deleted between two pages shows in the later
 * ones only. Names only grow from page to page, so none is listed twice.
 */
import { resourceJson, type Resource } from '../statemachine/index.js';

/** Resources a client asks for per page. */
export const PAGE_LIMIT = 1_000;
/** A page stops once its JSON passes this (it holds at least one resource). */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export interface ResourcePage {
  /** JSON list of the page's resources, as the unpaged answer writes them. */
  readonly json: string;
  /** Resources follow the page's last one. */
  readonly more: boolean;
}

/** The page of `sorted` (one kind, by name) after `after`: at most `limit` resources and about maxBytes. */
export function pageOf(sorted: readonly Resource[], after: string, limit: number, maxBytes = MAX_PAGE_BYTES): ResourcePage {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.name <= after) lo = mid + 1;
    else hi = mid;
  }
  const parts: string[] = [];
  let bytes = 2;
  let i = lo;
  for (; i < sorted.length && parts.length < limit && (parts.length === 0 || bytes < maxBytes); i++) {
    const part = JSON.stringify(resourceJson(sorted[i]!));
    parts.push(part);
    bytes += part.length + 1;
  }
  return { json: `[${parts.join(',')}]`, more: i < sorted.length };
}

/** Every page, fetched one after another from the first: the whole list, in name order. */
export async function allPages<T extends { readonly name: string }>(fetch: (after: string) => Promise<{ readonly items: readonly T[]; readonly more: boolean }>): Promise<T[]> {
  const out: T[] = [];
  let after = '';
  for (;;) {
    const page = await fetch(after);
    out.push(...page.items);
    const last = page.items.at(-1);
    // A server that ignores paging (older than it) answers everything with more false.
    if (!page.more || last === undefined) return out;
    if (last.name <= after) throw new Error(`a page ended at ${JSON.stringify(last.name)}, not after ${JSON.stringify(after)}: the server does not page by name`);
    after = last.name;
  }
}
