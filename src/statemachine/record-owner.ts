/**
 * Whose a dedup record is (dedup.ts): the caller's identity as the controller that took the
 * request saw it (src/api/caller-owner.ts: a client certificate's identity, or one owner shared
 * by every plaintext client), carried in the entry (command.ts ClientTag.owner) so that every
 * replica sees the same owner. The controllers' own report ids are one owner of their own, told
 * by the id alone: an entry never names it, so no caller can claim it.
 */
import { utf8Exceeds } from '../util/untrusted.js';

/** The longest owner an entry or a snapshot may carry: a CN, or `cert:` and a SHA-256 fingerprint. */
export const MAX_OWNER_BYTES = 128;

/** The owner of the controllers' own report ids (CONTROLLER_CLIENT_ID_PREFIX). */
export const INTERNAL_OWNER = 'internal:controllers';

/** Why `owner` cannot be an entry's owner; null when it can. */
export function ownerProblem(owner: string): string | null {
  if (owner.length === 0) return 'must not be empty';
  if (utf8Exceeds(owner, MAX_OWNER_BYTES)) return `must be at most ${MAX_OWNER_BYTES} bytes, found ${Buffer.byteLength(owner, 'utf8')}`;
  if (owner === INTERNAL_OWNER) return `${JSON.stringify(INTERNAL_OWNER)} is the controllers' own owner, told by the client id`;
  return null;
}

