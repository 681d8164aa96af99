/**
 * Figures from outside (a member's answer, a cache file) are untrusted: each is checked
 * against bounds that no real machine exceeds, so a member answering garbage shows as such
 * instead of poisoning the cache or `commonCpuFlags`.
 */
import { Fields, describe } from '../util/untrusted.js';
import type { LiveResources, StaticResources } from './types.js';

export const MAX_CPUS = 65_536;
export const MAX_CPU_MODEL_BYTES = 256;
export const MAX_CPU_FLAGS = 1_024;
/** /proc/cpuinfo flags are short lowercase words (sse4_2, avx512f); allow a little more. */
export const CPU_FLAG_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_LOAD_AVERAGE = 1_000_000;

/** Sorted and without duplicates: the one form flags are stored, compared and shown in. */
export function normalizeFlags(flags: readonly string[]): string[] {
  return [...new Set(flags)].sort();
}

/** The static figures in `raw` (fields cpus, cpuModel, cpuFlags, memoryBytes). */
export function staticFrom(f: Fields): StaticResources {
  const cpus = f.int('cpus', { min: 1, max: MAX_CPUS });
  const cpuModel = f.string('cpuModel', { maxBytes: MAX_CPU_MODEL_BYTES });
  const flags = f.strings('cpuFlags', MAX_CPU_FLAGS);
  const bad = flags.find((flag) => !CPU_FLAG_PATTERN.test(flag));
  if (bad !== undefined) f.fail(`field "cpuFlags" must hold CPU flag names (${CPU_FLAG_PATTERN.source}), found ${describe(bad)}`);
  const memoryBytes = f.int('memoryBytes', { min: 1 });
  return { cpus, cpuModel, cpuFlags: normalizeFlags(flags), memoryBytes };
}

/** The live figures in `raw` (fields diskFreeBytes, loadAverage, readAt / readAtMs). */
export function liveFrom(f: Fields, readAtKey: string): LiveResources {
  const diskFreeBytes = f.int('diskFreeBytes', { min: 0 });
  const load = f.array('loadAverage', 3);
  if (load.length !== 3) f.fail(`field "loadAverage" must hold 3 numbers (1, 5 and 15 minutes), found ${load.length}`);
  const bad = load.find((x) => typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > MAX_LOAD_AVERAGE);
  if (bad !== undefined) f.fail(`field "loadAverage" must hold numbers in [0, ${MAX_LOAD_AVERAGE}], found ${describe(bad)}`);
  const readAt = f.finite(readAtKey);
  if (readAt <= 0) f.fail(`field "${readAtKey}" must be a time after 1970, found ${readAt}`);
  const [one, five, fifteen] = load as readonly number[];
  return { diskFreeBytes, loadAverage: [one!, five!, fifteen!], readAt };
}
