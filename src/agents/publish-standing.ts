/**
 * What a serving controller says of an agent's publish (types.ts, PublishStanding), read back
 * from another controller's live rows or from `list agents` JSON: untrusted input, bounded like
 * the declarations it describes. Absent or null (an older controller, a departing row): null.
 */
import { MAX_REPORT_HOSTS, MAX_RESOURCE_NAME_BYTES } from '../statemachine/index.js';
import { Fields, type ErrorFactory } from '../util/untrusted.js';
import type { PublishStanding, RefusedHost } from './types.js';

/** A refusal's reason is one of mesh-publish.ts's sentences with a name or two in it. */
const MAX_REASON_BYTES = 1_024;

export function decodePublishStanding(raw: unknown, where: string, makeError: ErrorFactory): PublishStanding | null {
  if (raw === undefined || raw === null) return null;
  const f = Fields.of(raw, where, makeError).only(new Set(['refusedHosts', 'held']));
  const refusedHosts = f.array('refusedHosts', MAX_REPORT_HOSTS).map((item, i): RefusedHost => {
    const h = Fields.of(item, `${where}.refusedHosts[${i}]`, makeError).only(new Set(['name', 'reason']));
    return { name: h.string('name', { maxBytes: MAX_RESOURCE_NAME_BYTES, nonEmpty: true }), reason: h.string('reason', { maxBytes: MAX_REASON_BYTES }) };
  });
  const held = f.raw['held'] === null ? null : f.string('held', { maxBytes: MAX_REASON_BYTES });
  return { refusedHosts, held };
}
