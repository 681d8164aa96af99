/**
 * The envelope's identity fields are ids of 16 hex digits (ids.ts), or '' where the sender has
 * none or is of an older version. They come from the sender and end up in map keys and in
 * refusal reasons sent back and logged: an adversarial test sent 64 KiB boot ids, which were
 * kept (RSS 202 → 372 MB) and echoed into every reason (logs of 8 MB; at 1 MB each, every call
 * ran past its deadline). So anything else is refused before any rule looks at them.
 */
import type { Refusal } from './refusal.js';
import { IDENTITY_ID, type PeerEnvelope } from './types.js';

const FIELDS = ['clusterId', 'incarnation', 'toIncarnation', 'creation', 'boot'] as const;

/** How much of a malformed value a reason shows. */
const SHOWN_CHARS = 64;

export function envelopeFormatRefusal(env: PeerEnvelope): Refusal | null {
  for (const field of FIELDS) {
    const v = env[field];
    if (v === '' || IDENTITY_ID.test(v)) continue;
    const more = v.length > SHOWN_CHARS ? ` (${v.length} characters)` : '';
    return {
      code: 'MALFORMED_ENVELOPE',
      reason: `${field}: expected 16 hex digits or '', found ${JSON.stringify(v.slice(0, SHOWN_CHARS))}${more}`,
    };
  }
  return null;
}
