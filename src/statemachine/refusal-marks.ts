/**
 * From cluster version REFUSALS_ONCE_VERSION, what an agent's record remembers of the log's
 * audits of its refused hosts: per service, the cause a committed publish of it was last refused
 * for. A publish's refusal is audited (a publish.refused transition, which every controller
 * audits) only when it is new for the agent, service and cause: a service not marked, or marked
 * with another cause. Before, every committed publish audited all its
 * refused hosts again, so an agent republishing in a loop, each publish changing something,
 * flooded the bounded transition log (pushing out the events other controllers had yet to read)
 * and every controller's audit log.
 *
 * A service stays marked while the agent is refused it or no longer lists it, and is unmarked
 * once a publish of the agent serves it (creates, joins or keeps it): an agent toggling a refused
 * name in and out of its publishes is audited for it once by the log (its serving controller, which
 * warns of each listing again, audits that one itself: publish-gate.ts), and one taken off a
 * service it served and refused later is audited again. Bounded: at most MAX_REFUSAL_MARKS per agent (the names a
 * publish lists at most), a publish's own refusals first, then the earlier marks in name order;
 * the marks go with the agent's record. New refusals past MAX_AUDITED_REFUSALS in one publish are
 * audited together, in one transition that counts them and names some (marked all the same): an
 * agent listing ever-new names (news), or cycling through more names than its marks hold (two
 * sets of 256 listed in turn), writes at most MAX_AUDITED_REFUSALS + 1 transitions per publish
 * (256 before), and the controllers damp its publishes (3 changes per 30 s each).
 */
import { MAX_AGENT_NAMES } from './agent-records.js';
import { REFUSAL_CAUSES, type HostAction, type RefusalCause } from './mesh-publish.js';
import { MAX_RESOURCE_NAME_BYTES, RESOURCE_NAME_PATTERN } from './mesh-types.js';

/** Marks an agent's record keeps at most: as many names as one publish lists. */
export const MAX_REFUSAL_MARKS = MAX_AGENT_NAMES;

export type RefusalMarks = ReadonlyMap<string, RefusalCause>;

export const NO_MARKS: RefusalMarks = new Map();

/** New refusals a publish audits one by one; the rest in one transition (beyondReason). */
export const MAX_AUDITED_REFUSALS = 32;

/** Names a beyond transition's reason lists at most. */
const BEYOND_NAMED = 8;

type Refused = Extract<HostAction, { type: 'refuse' }>;

export interface MarkedRefusals {
  /** Refused names the log audits one by one. */
  readonly audited: ReadonlySet<string>;
  /** New refusals past MAX_AUDITED_REFUSALS, in the publish's order: audited in one transition (beyondReason). */
  readonly beyond: readonly Refused[];
  /** The marks the record keeps after the publish. */
  readonly marks: RefusalMarks;
}

/** Of a publish's plan, the refused names the log audits, and the marks the record keeps after it. */
export function markRefusals(before: RefusalMarks, hosts: readonly HostAction[]): MarkedRefusals {
  const audited = new Set<string>();
  const beyond: Refused[] = [];
  const marks = new Map<string, RefusalCause>();
  const served = new Set<string>();
  for (const h of hosts) {
    if (h.type === 'refuse') {
      if (before.get(h.name) !== h.cause) {
        if (audited.size < MAX_AUDITED_REFUSALS) audited.add(h.name);
        else beyond.push(h);
      }
      marks.set(h.name, h.cause);
    } else served.add(h.type === 'create' || h.type === 'configure' ? h.host.name : h.name);
  }
  const earlier = [...before.keys()].filter((name) => !marks.has(name) && !served.has(name)).sort();
  for (const name of earlier) {
    if (marks.size >= MAX_REFUSAL_MARKS) break;
    marks.set(name, before.get(name)!);
  }
  return { audited, beyond, marks: marks.size === 0 ? NO_MARKS : marks };
}

/** The reason of the one transition that audits a publish's refusals past MAX_AUDITED_REFUSALS; its service is the first of them. */
export function beyondReason(beyond: readonly Refused[]): string {
  const named = beyond.slice(0, BEYOND_NAMED).map((r) => r.name).join(', ');
  const more = beyond.length > BEYOND_NAMED ? `, and ${beyond.length - BEYOND_NAMED} more` : '';
  return `${beyond.length} more services refused in this publish than the ${MAX_AUDITED_REFUSALS} it audits one by one (${named}${more}); the first: ${beyond[0]?.reason ?? ''}`;
}

/** The record's snapshot field: [name, cause] pairs sorted by name. */
export function marksJson(marks: RefusalMarks): [string, RefusalCause][] {
  return [...marks].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** An upper bound of the snapshot field's length, its name and comma included: none when empty (not written). */
export function marksLength(marks: RefusalMarks): number {
  if (marks.size === 0) return 0;
  // ,"refused":[]   and per mark   ["name","not-allowed"],
  let n = 13;
  for (const name of marks.keys()) n += name.length + 19;
  return n;
}

/** A snapshot's field, checked: at most MAX_REFUSAL_MARKS pairs of a service name and a cause, sorted by name without repeats. */
export function parseMarks(value: unknown, fail: (m: string) => never): RefusalMarks {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_REFUSAL_MARKS) fail(`field "refused" must be a list of 1 to ${MAX_REFUSAL_MARKS} pairs`);
  const marks = new Map<string, RefusalCause>();
  let last = '';
  for (const item of value as readonly unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) fail('refused: expected [name, cause]');
    const [name, cause] = item as readonly unknown[];
    if (typeof name !== 'string' || name.length > MAX_RESOURCE_NAME_BYTES || !RESOURCE_NAME_PATTERN.test(name)) fail(`refused: expected a service name, found ${JSON.stringify(name)?.slice(0, 80)}`);
    if (marks.size > 0 && !(last < name)) fail('field "refused" must be sorted by name without repeats');
    if (typeof cause !== 'string' || !(REFUSAL_CAUSES as readonly string[]).includes(cause)) fail(`refused ${name}: the cause must be one of ${REFUSAL_CAUSES.join(', ')}`);
    marks.set(name, cause as RefusalCause);
    last = name;
  }
  return marks;
}
