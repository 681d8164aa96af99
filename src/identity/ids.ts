/** New cluster ids and incarnations: from the OS in production, from a seeded Rng in simulation. */
import { randomBytes } from 'node:crypto';
import type { Rng } from '../util/rng.js';
import type { IdentityId } from './types.js';

export type IdentitySource = () => IdentityId;

export const osIdentitySource: IdentitySource = () => randomBytes(8).toString('hex');

/** Deterministic for a seed: two 32-bit halves. */
export function seededIdentitySource(rng: Rng): IdentitySource {
  const half = (): string => rng.int(0, 0x1_0000_0000).toString(16).padStart(8, '0');
  return () => half() + half();
}
