/**
 * What a leader proposes for the cluster's identity: the cluster id once (drawn by the first
 * leader, as etcd's leader decides the cluster version), and each member's incarnation the
 * first time the cluster hears from it. Pure: the caller proposes what this returns.
 */
import type { IdentityId } from './types.js';

export interface HeardFrom {
  readonly incarnation: string;
  /** Monotonic ms of the last message. */
  readonly atMs: number;
}

export interface MemberRow {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  readonly incarnation: string;
}

export interface DutyInput {
  readonly self: { readonly id: string; readonly incarnation: IdentityId };
  /** Leading, and has applied an entry of its own term (so its applied state is the cluster's). */
  readonly leading: boolean;
  /** The applied cluster id, and the one this node's data dir holds. */
  readonly appliedClusterId: IdentityId | null;
  readonly ownClusterId: IdentityId | null;
  readonly members: readonly MemberRow[];
  readonly wasRemoved: (incarnation: string) => boolean;
  readonly heard: ReadonlyMap<string, HeardFrom>;
  /** When this node became leader, and now (monotonic ms). */
  readonly leaderSinceMs: number;
  readonly nowMs: number;
  /** How long a new cluster's leader waits to hear from every voter before drawing the id. */
  readonly establishAfterMs: number;
}

export type Duty =
  | { readonly kind: 'establish'; readonly incarnations: readonly { readonly id: string; readonly incarnation: string }[] }
  | { readonly kind: 'record'; readonly id: string; readonly incarnation: string };

export function leaderDuties(input: DutyInput): Duty[] {
  if (!input.leading) return [];
  if (input.appliedClusterId === null) {
    // A node that holds an id its log has not applied yet waits: the entry is in its log.
    if (input.ownClusterId !== null) return [];
    return establishDuty(input);
  }
  const duties: Duty[] = [];
  for (const m of input.members) {
    if (m.incarnation !== '') continue;
    const incarnation = m.id === input.self.id ? input.self.incarnation : (input.heard.get(m.id)?.incarnation ?? '');
    if (incarnation !== '' && !input.wasRemoved(incarnation)) duties.push({ kind: 'record', id: m.id, incarnation });
  }
  return duties;
}

/**
 * The id is drawn once every voter has been heard from with an incarnation, so all of them are
 * recorded at once; or, when some voter stays silent, after `establishAfterMs`. A voter heard
 * without an incarnation runs a version without identities: wait for it to be upgraded.
 */
function establishDuty(input: DutyInput): Duty[] {
  const voters = input.members.filter((m) => m.role === 'voter' && m.id !== input.self.id);
  const heard = (id: string): HeardFrom | undefined => {
    const h = input.heard.get(id);
    return h !== undefined && h.atMs >= input.leaderSinceMs ? h : undefined;
  };
  if (voters.some((v) => heard(v.id)?.incarnation === '')) return [];
  const all = voters.every((v) => heard(v.id) !== undefined);
  if (!all && input.nowMs - input.leaderSinceMs < input.establishAfterMs) return [];
  const incarnations = [{ id: input.self.id, incarnation: input.self.incarnation }];
  for (const m of input.members) {
    const h = m.id === input.self.id ? undefined : input.heard.get(m.id);
    if (h !== undefined && h.incarnation !== '' && !input.wasRemoved(h.incarnation)) incarnations.push({ id: m.id, incarnation: h.incarnation });
  }
  return [{ kind: 'establish', incarnations }];
}
