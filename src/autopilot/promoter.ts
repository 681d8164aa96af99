/**
 * Which learner the leader promotes to voter, and when: the one place that decides promotions
 * (Consul's autopilot, etcd's learner readiness). Deterministic: the members with their
 * intent, the leader's replication progress and contact with each learner, the settings and the
 * time come in; at most one promotion comes out, with a verdict on every learner for operators
 * and logs. The driver (src/node/promoter-driver.ts) feeds it on the leader and carries out what
 * it decides.
 *
 * A learner is eligible when it was added with the intent to promote it (a plain `member add`)
 * or, for one added with `--learner`, when `autopilot.promote_learners` is on. It is caught up
 * when the leader has replicated to within `autopilot.max_trailing_logs` entries of the commit
 * index (a learner at zero has received nothing yet). It must also be recorded: the cluster
 * has written down its data dir (src/identity/leader-duties.ts), since a data dir the cluster
 * has not recorded refuses to vote (acceptance rule 5), and a voter that cannot vote lowers
 * how many failures the cluster survives. It is healthy when, besides, the rest of
 * health in depth's rule holds (src/autopilot/health.ts): online in the leader's view, heard from
 * within `autopilot.last_contact_threshold`, on the leader's term. It is promoted once it has
 * stayed caught up and healthy for `autopilot.server_stabilization_time`, continuously: falling
 * behind or a lapse of health restarts the clock.
 */
import { contactProblems, type ContactObservation, type HealthProblem } from './health.js';

export interface PromoterMember {
  readonly id: string;
  readonly role: 'voter' | 'learner';
  /** Added by a plain `member add`: promote once caught up, whatever autopilot.promote_learners says. */
  readonly autoPromote: boolean;
  /** The data dir the cluster recorded for this member; '' until the leader has recorded it. */
  readonly incarnation: string;
}

export interface PromoterSettings {
  readonly promoteLearners: boolean;
  readonly stabilizationMs: number;
  readonly maxTrailingLogs: number;
  readonly lastContactThresholdMs: number;
}

export interface PromoterInput {
  /** Monotonic milliseconds. */
  readonly now: number;
  readonly isLeader: boolean;
  readonly members: readonly PromoterMember[];
  /** The leader's view of each member's log: the highest index known to match its own. */
  readonly progress: ReadonlyMap<string, { readonly match: number }>;
  readonly commit: number;
  /** The leader's term: a learner that last answered in another is not healthy. */
  readonly term: number;
  /** How the leader last heard from each member; a learner without one is not healthy. */
  readonly contacts: ReadonlyMap<string, ContactObservation>;
  readonly settings: PromoterSettings;
  /** A membership change (a promotion or an operator's change) is in flight: none may start. */
  readonly changeInFlight: boolean;
}

/** Since when each eligible learner has been caught up and healthy without a break. */
export interface PromoterState {
  readonly caughtUpSince: ReadonlyMap<string, number>;
}

export const INITIAL_PROMOTER_STATE: PromoterState = { caughtUpSince: new Map() };

export type LearnerVerdict =
  | { readonly id: string; readonly verdict: 'manual' }
  | { readonly id: string; readonly verdict: 'behind'; readonly entries: number }
  | { readonly id: string; readonly verdict: 'unrecorded' }
  | { readonly id: string; readonly verdict: 'unhealthy'; readonly problems: readonly HealthProblem[] }
  | { readonly id: string; readonly verdict: 'stabilizing'; readonly remainingMs: number }
  | { readonly id: string; readonly verdict: 'ready'; readonly caughtUpForMs: number };

export interface PromotionDecision {
  readonly state: PromoterState;
  /** The learner to promote now, or null. */
  readonly promote: string | null;
  /** One verdict per learner, in id order. */
  readonly learners: readonly LearnerVerdict[];
}

function eligible(m: PromoterMember, s: PromoterSettings): boolean {
  return m.role === 'learner' && (m.autoPromote || s.promoteLearners);
}

export function decidePromotion(state: PromoterState, input: PromoterInput): PromotionDecision {
  // Stabilization is the leader's own observation: a new leader starts every clock afresh.
  if (!input.isLeader) return { state: INITIAL_PROMOTER_STATE, promote: null, learners: [] };
  const { settings, now } = input;
  const caughtUpSince = new Map<string, number>();
  const learners: LearnerVerdict[] = [];
  const learnerMembers = input.members.filter((m) => m.role === 'learner').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const m of learnerMembers) {
    if (!eligible(m, settings)) {
      learners.push({ id: m.id, verdict: 'manual' });
      continue;
    }
    const match = input.progress.get(m.id)?.match ?? 0;
    const behind = Math.max(0, input.commit - match);
    if (match === 0 || behind > settings.maxTrailingLogs) {
      learners.push({ id: m.id, verdict: 'behind', entries: behind });
      continue;
    }
    if (m.incarnation === '') {
      learners.push({ id: m.id, verdict: 'unrecorded' });
      continue;
    }
    const contact = input.contacts.get(m.id) ?? { online: false, lastContactAt: null, term: null };
    const problems = contactProblems(contact, { now, leaderTerm: input.term, lastContactThresholdMs: settings.lastContactThresholdMs });
    if (problems.length > 0) {
      learners.push({ id: m.id, verdict: 'unhealthy', problems });
      continue;
    }
    const since = state.caughtUpSince.get(m.id) ?? now;
    caughtUpSince.set(m.id, since);
    const caughtUpForMs = now - since;
    if (caughtUpForMs >= settings.stabilizationMs) learners.push({ id: m.id, verdict: 'ready', caughtUpForMs });
    else learners.push({ id: m.id, verdict: 'stabilizing', remainingMs: settings.stabilizationMs - caughtUpForMs });
  }
  let promote: string | null = null;
  if (!input.changeInFlight) {
    // The one caught up longest first; ids break ties, so every run decides alike.
    let best: { id: string; since: number } | null = null;
    for (const v of learners) {
      if (v.verdict !== 'ready') continue;
      const since = caughtUpSince.get(v.id)!;
      if (best === null || since < best.since) best = { id: v.id, since };
    }
    promote = best?.id ?? null;
  }
  return { state: { caughtUpSince }, promote, learners };
}
