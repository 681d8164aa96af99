/**
 * What the leader adds to a member's health row besides its problems: facts that explain a row
 * that would otherwise contradict itself, without changing the verdict (autopilot's removal,
 * promotion and hand-off rules read the verdict; these are for the operator).
 *
 * - duplicate: two processes speak as the member (DUPLICATE_PROCESS, src/identity): the one
 *   heard may be a copy of its data dir, whose pings keep the member online while the leader
 *   cannot replicate to it (an adversarial test found a crashed member shown online that way);
 * - heartbeats only: shown online (its membership heartbeats arrive) while it has not answered
 *   Raft within the contact threshold: online and silent in one row needs saying why.
 */
import { describeDuplicate, type DuplicateMark } from '../identity/duplicate-marks.js';

export type HealthNote =
  | { readonly kind: 'duplicate'; readonly mark: DuplicateMark }
  | { readonly kind: 'heartbeatsOnly'; readonly lastContactMs: number | null };

/** What the leader knows of a member that notes read. */
export interface NoteObservation {
  readonly id: string;
  readonly online: boolean;
  readonly duplicate: DuplicateMark | null;
}

/** The notes on a member other than the leader, given whether it is silent in Raft (and for how long). */
export function memberNotes(m: NoteObservation, silent: { readonly lastContactMs: number | null } | null): HealthNote[] {
  const notes: HealthNote[] = [];
  if (m.duplicate !== null) notes.push({ kind: 'duplicate', mark: m.duplicate });
  if (m.online && silent !== null) notes.push({ kind: 'heartbeatsOnly', lastContactMs: silent.lastContactMs });
  return notes;
}

export function describeNote(id: string, n: HealthNote): string {
  switch (n.kind) {
    case 'duplicate':
      return describeDuplicate(id, n.mark);
    case 'heartbeatsOnly': {
      const raft = n.lastContactMs === null ? 'has never answered the leader in Raft' : `has not answered the leader in Raft for ${Math.round(n.lastContactMs)}ms`;
      return `online by its membership heartbeats only: it ${raft}`;
    }
    default: {
      const never: never = n;
      return never;
    }
  }
}
