/**
 * One member's cache file: the static figures with the instant they were fetched (and the
 * live ones read with them), and the rule that says whether it may still be used. Incus keeps
 * the same per-member file with a 24-hour expiry; within it, no remote call for those figures.
 *
 * Decoding is strict: a file that is not exactly this shape is corrupt, and a corrupt file is
 * treated like a missing one (fetched once and rewritten), never trusted. A file written before
 * entries named the member's incarnation reads as one of an unknown incarnation: used by no one.
 */
import { Fields, isRecord } from '../util/untrusted.js';
import { ResourcesError } from './errors.js';
import type { LiveResources, ResourceMember, StaticResources } from './types.js';
import { liveFrom, staticFrom } from './validate.js';

export const CACHE_FORMAT = 1;
/** A cache file is a few KiB; anything much larger is not one. */
export const MAX_CACHE_FILE_BYTES = 256 * 1024;
/** A fetch time this far ahead of the clock means the clock moved back: do not trust it. */
export const CLOCK_SKEW_TOLERANCE_MS = 60_000;

export interface CacheEntry {
  readonly member: string;
  readonly address: string;
  /** The member's recorded incarnation when fetched ('' unknown then); null: a file from before the field. */
  readonly incarnation: string | null;
  /** ms since the epoch, on this node's clock. */
  readonly fetchedAt: number;
  readonly static: StaticResources;
  readonly live: LiveResources;
}

export function encodeCacheEntry(e: CacheEntry): string {
  return `${JSON.stringify(
    {
      format: CACHE_FORMAT,
      member: e.member,
      address: e.address,
      ...(e.incarnation === null ? {} : { incarnation: e.incarnation }),
      fetchedAt: e.fetchedAt,
      static: { cpus: e.static.cpus, cpuModel: e.static.cpuModel, cpuFlags: e.static.cpuFlags, memoryBytes: e.static.memoryBytes },
      live: { diskFreeBytes: e.live.diskFreeBytes, loadAverage: e.live.loadAverage, readAt: e.live.readAt },
    },
    null,
    2,
  )}\n`;
}

const TOP = new Set(['format', 'member', 'address', 'incarnation', 'fetchedAt', 'static', 'live']);
const STATIC = new Set(['cpus', 'cpuModel', 'cpuFlags', 'memoryBytes']);
const LIVE = new Set(['diskFreeBytes', 'loadAverage', 'readAt']);

/** Throws ResourcesError CACHE_CORRUPT naming what is wrong. */
export function decodeCacheEntry(text: string, member: string, where: string): CacheEntry {
  const corrupt = (m: string): ResourcesError => new ResourcesError('CACHE_CORRUPT', m);
  if (text.length > MAX_CACHE_FILE_BYTES) throw corrupt(`${where}: expected at most ${MAX_CACHE_FILE_BYTES} bytes, found ${text.length}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw corrupt(`${where}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(doc)) throw corrupt(`${where}: expected an object`);
  const f = Fields.of(doc, where, corrupt).only(TOP);
  const format = f.int('format');
  if (format !== CACHE_FORMAT) f.fail(`expected format ${CACHE_FORMAT}, found ${format}`);
  const owner = f.string('member');
  if (owner !== member) f.fail(`expected the cache of ${JSON.stringify(member)}, found one of ${JSON.stringify(owner)}`);
  return {
    member: owner,
    address: f.string('address', { nonEmpty: true, maxBytes: 256 }),
    incarnation: f.has('incarnation') ? f.string('incarnation', { maxBytes: 64 }) : null,
    fetchedAt: f.int('fetchedAt', { min: 1 }),
    static: staticFrom(Fields.of(doc['static'], `${where} static`, corrupt).only(STATIC)),
    live: liveFrom(Fields.of(doc['live'], `${where} live`, corrupt).only(LIVE), 'readAt'),
  };
}

export type Freshness =
  | { readonly fresh: true }
  | { readonly fresh: false; readonly reason: 'expired' | 'moved' | 'incarnation' | 'clock' };

/** Whether the cached static figures of `member` may be used at `nowMs` without asking it. */
export function freshness(e: CacheEntry, member: ResourceMember, nowMs: number, ttlMs: number): Freshness {
  // Figures belong to the machine at an address: a member that moved may be another machine.
  if (e.address !== member.address) return { fresh: false, reason: 'moved' };
  // And to one incarnation: a member rebuilt (remove, add, --join) may be new hardware at the
  // same address (round 6's F6). An incarnation not yet recorded ('') proves nothing either way.
  if (member.incarnation === '' || e.incarnation !== member.incarnation) return { fresh: false, reason: 'incarnation' };
  if (e.fetchedAt > nowMs + CLOCK_SKEW_TOLERANCE_MS) return { fresh: false, reason: 'clock' };
  if (nowMs - e.fetchedAt >= ttlMs) return { fresh: false, reason: 'expired' };
  return { fresh: true };
}
