/**
 * Runs the promoter (src/autopilot/promoter.ts) on the leader: every interval it hands it the
 * members, the leader's progress, the settings and the monotonic time, and proposes the one
 * promotion it decides, never two at once. It logs when a learner's verdict changes, so the
 * operator's `member add` is followed in the log: behind, stabilizing, promoted.
 */
import type { Logger } from 'pino';
import {
  decidePromotion,
  INITIAL_PROMOTER_STATE,
  type LearnerVerdict,
  type PromoterMember,
  type PromoterSettings,
  type PromoterState,
} from '../autopilot/promoter.js';
import type { SettingsView } from '../statemachine/settings.js';

export interface PromoterDriverDeps {
  readonly logger: Logger;
  readonly intervalMs: number;
  /** Monotonic ms. */
  readonly now: () => number;
  /** Cheap: whether this node leads now. */
  readonly isLeader: () => boolean;
  readonly raft: () => {
    readonly role: string;
    readonly commit: number;
    readonly progress: ReadonlyMap<string, { readonly match: number }>;
  };
  readonly members: () => readonly PromoterMember[];
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
  };
}

function describeVerdict(v: LearnerVerdict): string {
  switch (v.verdict) {
    case 'manual':
      return 'added with --learner: waiting for `ctl member promote` (or autopilot.promote_learners)';
    case 'behind':
      return `catching up (${v.entries} entries behind)`;
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
  private timer: NodeJS.Timeout | null = null;
  private readonly lastVerdict = new Map<string, LearnerVerdict['verdict']>();

  constructor(private readonly deps: PromoterDriverDeps) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: decide, log what changed, propose at most one promotion. */
  tick(): void {
    // A follower decides nothing; skip building the inputs (most rounds on most nodes).
    if (!this.deps.isLeader() && this.state === INITIAL_PROMOTER_STATE && this.lastVerdict.size === 0) return;
    const raft = this.deps.raft();
    const decision = decidePromotion(this.state, {
      now: this.deps.now(),
      isLeader: raft.role === 'leader',
      members: this.deps.members(),
      progress: raft.progress,
      commit: raft.commit,
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
