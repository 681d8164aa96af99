/**
 * Runs the promoter (src/autopilot/promoter.ts) on the leader: every interval it hands it the
 * members, the leader's progress, the settings and the monotonic time, and proposes the one
 * promotion it decides, never two at once. It logs when a learner's verdict changes, so the
 * operator's `member add` is followed in the log: behind, stabilizing, promoted.
 */
import type { Logger } from 'pino';
import { describeProblem, type ContactObservation } from '../autopilot/health.js';
import {
  decidePromotion,
  INITIAL_PROMOTER_STATE,
  type LearnerVerdict,
  type PromoterMember,
  type PromoterSettings,
  type PromoterState,
} from '../autopilot/promoter.js';
import type { SettingsView } from '../statemachine/settings.js';
import { systemScheduler, type Timer } from '../util/clock.js';

export interface PromoterDriverDeps {
  readonly logger: Logger;
  readonly intervalMs: number;
  /** Monotonic ms. */
  readonly now: () => number;
  /** Cheap: whether this node leads now. */
  readonly isLeader: () => boolean;
  readonly raft: () => {
    readonly role: string;
    readonly term: number;
    readonly commit: number;
    readonly progress: ReadonlyMap<string, { readonly match: number }>;
  };
  readonly members: () => readonly PromoterMember[];
  /** The members whose reconciled status (`online` of list controllers) is online in this node's view. */
  readonly online: () => ReadonlySet<string>;
  /** When this node last heard from a peer (monotonic ms, the clock of `now`) and in which term; null: never. */
  readonly contact: (id: string) => { readonly lastHeardAt: number; readonly term: number | null } | null;
  readonly settings: () => PromoterSettings;
  /** Proposes the promotion and resolves once it is applied. */
  readonly promote: (id: string) => Promise<void>;
  /** A promotion this node decided was applied. */
  readonly onPromoted: (id: string, caughtUpForMs: number) => void;
}

/** The cluster-wide settings the promoter reads (the same on every replica). */
export function promoterSettings(view: SettingsView): PromoterSettings {
  return {
    promoteLearners: view.get('autopilot.promote_learners'),
    stabilizationMs: view.get('autopilot.server_stabilization_time'),
    maxTrailingLogs: view.get('autopilot.max_trailing_logs'),
    lastContactThresholdMs: view.get('autopilot.last_contact_threshold'),
  };
}

function describeVerdict(v: LearnerVerdict): string {
  switch (v.verdict) {
    case 'manual':
      return 'added with --learner: waiting for `ctl member promote` (or autopilot.promote_learners)';
    case 'behind':
      return `catching up (${v.entries} entries behind)`;
    case 'unrecorded':
      return 'caught up; waiting for the cluster to record its data dir, which it must before it may vote';
    case 'unhealthy':
      return `caught up but not healthy: ${v.problems.map(describeProblem).join(', ')}`;
    case 'stabilizing':
      return `caught up; promoting once it has stayed so for ${Math.ceil(v.remainingMs / 1000)}s more`;
    case 'ready':
      return 'caught up and stable: promoting';
    default: {
      const never: never = v;
      return never;
    }
  }
}

export class PromoterDriver {
  private state: PromoterState = INITIAL_PROMOTER_STATE;
  private inFlight = false;
  private timer: Timer | null = null;
  private readonly lastVerdict = new Map<string, LearnerVerdict['verdict']>();

  constructor(private readonly deps: PromoterDriverDeps) {}

  start(): void {
    this.timer = systemScheduler.every(this.deps.intervalMs, () => this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** One round: decide, log what changed, propose at most one promotion. */
  tick(): void {
    // A follower decides nothing; skip building the inputs (most rounds on most nodes).
    if (!this.deps.isLeader() && this.state === INITIAL_PROMOTER_STATE && this.lastVerdict.size === 0) return;
    const raft = this.deps.raft();
    const members = this.deps.members();
    const decision = decidePromotion(this.state, {
      now: this.deps.now(),
      isLeader: raft.role === 'leader',
      members,
      progress: raft.progress,
      commit: raft.commit,
      term: raft.term,
      contacts: raft.role === 'leader' ? this.contacts(members) : new Map(),
      settings: this.deps.settings(),
      changeInFlight: this.inFlight,
    });
    this.state = decision.state;
    this.logChanges(decision.learners);
    const id = decision.promote;
    if (id === null) return;
    const verdict = decision.learners.find((l) => l.id === id);
    const caughtUpForMs = verdict?.verdict === 'ready' ? verdict.caughtUpForMs : 0;
    this.inFlight = true;
    this.deps.promote(id).then(
      () => {
        this.inFlight = false;
        this.deps.logger.info({ member: id, caughtUpForMs }, `promoted learner ${id} to voter`);
        this.deps.onPromoted(id, caughtUpForMs);
      },
      (err: unknown) => {
        this.inFlight = false;
        // Leadership moved, or an operator's change was in flight: the next round decides again.
        this.deps.logger.info({ member: id, err: err instanceof Error ? err.message : String(err) }, `promotion of ${id} not done; retrying`);
      },
    );
  }

  /** How this leader last heard from each learner. */
  private contacts(members: readonly PromoterMember[]): Map<string, ContactObservation> {
    const learners = members.filter((m) => m.role === 'learner');
    const out = new Map<string, ContactObservation>();
    if (learners.length === 0) return out;
    const online = this.deps.online();
    for (const m of learners) {
      const c = this.deps.contact(m.id);
      out.set(m.id, { online: online.has(m.id), lastContactAt: c?.lastHeardAt ?? null, term: c?.term ?? null });
    }
    return out;
  }

  private logChanges(learners: readonly LearnerVerdict[]): void {
    const seen = new Set<string>();
    for (const v of learners) {
      seen.add(v.id);
      if (this.lastVerdict.get(v.id) === v.verdict) continue;
      this.lastVerdict.set(v.id, v.verdict);
      this.deps.logger.info({ member: v.id, verdict: v.verdict }, `learner ${v.id}: ${describeVerdict(v)}`);
    }
    for (const id of [...this.lastVerdict.keys()]) if (!seen.has(id)) this.lastVerdict.delete(id);
  }
}
