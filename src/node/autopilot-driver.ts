/**
 * Runs the deterministic autopilot rules (src/autopilot/) on the leader, on a Scheduler: every
 * round it gathers the leader's view (Raft progress, the membership layer's reconciled status,
 * when each peer last spoke and in which term, the committed member records, the cluster-wide
 * settings), judges health, and carries out at most one dead-member removal and one
 * preferred-leader hand-off that the rules decide. It logs when a verdict changes, so an
 * operator can follow what autopilot does and why it holds back. Followers only forget.
 */
import type { Logger } from 'pino';
import { decideCleanup, durationText, type CleanupDecision } from '../autopilot/cleanup.js';
import { NO_SIGHTINGS, noteOfflineSightings, seenOfflineForMs, type OfflineSightings } from '../autopilot/offline-sightings.js';
import { assessHealth, INITIAL_HEALTH_STATE, type ClusterHealthReport, type HealthState } from '../autopilot/health.js';
import {
  decidePreferredLeader,
  describePreferredLeader,
  INITIAL_PREFERRED_LEADER_STATE,
  type PreferredLeaderDecision,
  type PreferredLeaderState,
  type PreferredLeaderVerdict,
} from '../autopilot/preferred-leader.js';
import { INITIAL_PREFERRED_BACKOFF, noteLeaderChange, stableForWithBackoff, type PreferredBackoff } from '../autopilot/preferred-backoff.js';
import type { DuplicateMark } from '../identity/duplicate-marks.js';
import type { NodeStatus } from '../raft/index.js';
import type { ClusterSettings } from '../settings/index.js';
import type { MemberRecord } from '../statemachine/index.js';
import type { Scheduler, Timer } from '../util/clock.js';
import type { PeerContact } from './peer-contact.js';

export interface AutopilotPort {
  readonly self: string;
  readonly electionTimeoutMs: number;
  readonly logger: Logger;
  raftStatus(): NodeStatus;
  /** The members as committed (the offline-since of cleanup comes from here). */
  members(): readonly MemberRecord[];
  /** The members whose reconciled status (`online` of list controllers) is online in this node's view. */
  online(): ReadonlySet<string>;
  contact(id: string): PeerContact | null;
  /** Two processes speak as `id`, as this node saw it (src/identity/duplicate-marks.ts); absent: not told. */
  duplicate?(id: string): DuplicateMark | null;
  settings(): ClusterSettings;
  /** How long this leader has held entries without its commit index moving (0: none), and the limit past which it is stuck. */
  commitStall(): { readonly stalledMs: number; readonly limitMs: number };
  /** Why the leader refuses every write that grows the state (DiskFloor.refusingWrites); absent: never. */
  writesRefused?(): string | null;
  /** Proposes the removal of `id` with `reason` (the audit trail's) and resolves once applied. */
  remove(id: string, reason: string): Promise<void>;
  transferLeadership(id: string): void;
}

export interface AutopilotEvents {
  onRemoved?(id: string, reason: string): void;
  onTransfer?(to: string): void;
}

/** What the preferred-leader rule says now, for `ctl health`. */
export interface PreferredLeaderStatus {
  readonly id: string | null;
  readonly note: string;
}

/** Rounds are a fraction of the election timeout: health moves on that scale. */
export function autopilotIntervalMs(electionTimeoutMs: number): number {
  return Math.max(100, Math.min(1_000, Math.round(electionTimeoutMs / 2)));
}

/**
 * How far apart preferred-leader transfers are: the stabilization time, and at least five
 * election timeouts so a transfer's own election has settled long before the next.
 */
export function preferredLeaderIntervalMs(stabilizationMs: number, electionTimeoutMs: number): number {
  return Math.max(stabilizationMs, 5 * electionTimeoutMs);
}

export class AutopilotDriver {
  private health: HealthState = INITIAL_HEALTH_STATE;
  private preferred: PreferredLeaderState = INITIAL_PREFERRED_LEADER_STATE;
  private leaderSince: number | null = null;
  private leaderTerm = 0;
  private removing: string | null = null;
  private timer: Timer | null = null;
  private lastHeld: string | null = null;
  private lastPreferredVerdict: PreferredLeaderVerdict = { verdict: 'not-leader' };
  /** The `cluster.preferred_leader` the last round judged: a verdict says nothing of another one. */
  private lastPreferredFor: string | null = null;
  private backoff: PreferredBackoff = INITIAL_PREFERRED_BACKOFF;
  private offlineSightings: OfflineSightings = NO_SIGHTINGS;
  /** `id@offlineSince` of the records whose wall-clock wait was last warned about: once each. */
  private wallClockWarned = new Set<string>();

  constructor(
    private readonly port: AutopilotPort,
    private readonly clock: Scheduler,
    private readonly events: AutopilotEvents = {},
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.clock.every(autopilotIntervalMs(this.port.electionTimeoutMs), () => {
      try {
        this.round();
      } catch (err) {
        this.port.logger.error({ err }, 'autopilot round failed');
      }
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** The leader's health report, judged now; null when this node does not lead. */
  report(): ClusterHealthReport | null {
    const st = this.port.raftStatus();
    if (!this.noteRole(st)) return null;
    return this.assess(st);
  }

  preferredLeader(): PreferredLeaderStatus {
    const settings = this.port.settings();
    const id = settings['cluster.preferred_leader'];
    return { id, note: describePreferredLeader(this.verdictNow(settings), id) };
  }

  /**
   * The last round's verdict; on a leader that has had no round yet, or since the setting
   * changed, judged now (nothing acted on): a new leader answered "judged by the leader" about
   * itself until its first round, up to one autopilot interval (e2e/preferred-leader saw it, right
   * after the hand-off), and `ctl health` right after `ctl config set cluster.preferred_leader c2`
   * paired c2 with "no preferred leader is set".
   */
  private verdictNow(settings: ClusterSettings): PreferredLeaderVerdict {
    const current = this.lastPreferredVerdict.verdict !== 'not-leader' && this.lastPreferredFor === settings['cluster.preferred_leader'];
    if (current) return this.lastPreferredVerdict;
    const st = this.port.raftStatus();
    const report = this.report();
    return report === null ? this.lastPreferredVerdict : this.preferredDecision(report, settings, st).verdict;
  }

  /**
   * A leader change this node saw (every node, leader or not): the preferred leader losing
   * leadership by election lengthens the stable time it needs before the next hand-off.
   */
  leaderChanged(from: string | null, to: string, byElection: boolean): void {
    const settings = this.port.settings();
    const before = this.backoff.losses;
    this.backoff = noteLeaderChange(this.backoff, {
      from,
      to,
      byElection,
      now: this.clock.now(),
      preferred: settings['cluster.preferred_leader'],
      stableForMs: settings['autopilot.server_stabilization_time'],
    });
    if (this.backoff.losses > before) {
      const stableMs = stableForWithBackoff(this.backoff, settings['autopilot.server_stabilization_time']);
      this.port.logger.info({ preferredLeader: from, losses: this.backoff.losses, stableMs }, `preferred leader ${String(from)} lost leadership by election: it must stay healthy ${Math.round(stableMs / 1000)}s before leadership is handed to it again`);
    }
  }

  /** One round: judge health, then at most one removal and one hand-off. */
  round(): void {
    const st = this.port.raftStatus();
    if (!this.noteRole(st)) return;
    const report = this.assess(st);
    const settings = this.port.settings();
    this.cleanup(report, settings, st);
    this.handOff(report, settings, st);
  }

  /** Tracks leadership; resets every clock when this node does not lead. True when it leads. */
  private noteRole(st: NodeStatus): boolean {
    if (st.role !== 'leader') {
      this.health = INITIAL_HEALTH_STATE;
      this.preferred = INITIAL_PREFERRED_LEADER_STATE;
      this.leaderSince = null;
      this.lastPreferredVerdict = { verdict: 'not-leader' };
      return false;
    }
    if (this.leaderSince === null || this.leaderTerm !== st.term) {
      this.leaderSince = this.clock.now();
      this.leaderTerm = st.term;
      this.health = INITIAL_HEALTH_STATE;
      this.preferred = INITIAL_PREFERRED_LEADER_STATE;
    }
    return true;
  }

  private assess(st: NodeStatus): ClusterHealthReport {
    const { port } = this;
    const settings = port.settings();
    const online = port.online();
    const members = [...st.conf.voters.map((id) => ({ id, voter: true })), ...st.conf.learners.map((id) => ({ id, voter: false }))];
    const { state, report } = assessHealth(this.health, {
      now: this.clock.now(),
      wallClockMs: this.clock.wallClockMs(),
      leader: { id: port.self, term: st.term, lastIndex: st.lastIndex, commit: st.commit },
      members: members.map(({ id, voter }) => {
        const contact = port.contact(id);
        return {
          id,
          voter,
          online: online.has(id),
          lastContactAt: contact?.lastHeardAt ?? null,
          term: contact?.term ?? null,
          match: st.progress.get(id)?.match ?? 0,
          duplicate: port.duplicate?.(id) ?? null,
        };
      }),
      settings: { lastContactThresholdMs: settings['autopilot.last_contact_threshold'], maxTrailingLogs: settings['autopilot.max_trailing_logs'] },
      commitStall: port.commitStall(),
      writesRefused: port.writesRefused?.() ?? null,
    });
    this.health = state;
    return report;
  }

  private cleanup(report: ClusterHealthReport, settings: ClusterSettings, st: NodeStatus): void {
    const records = new Map(this.port.members().map((m) => [m.id, m]));
    const offline = report.members.map((m) => {
      const r = records.get(m.id);
      return { id: m.id, offlineSince: r !== undefined && r.status === 'offline' && r.statusObservedAt > 0 ? r.statusObservedAt : null };
    });
    const nowMono = this.clock.now();
    this.offlineSightings = noteOfflineSightings(this.offlineSightings, offline, nowMono);
    const wallClockMs = this.clock.wallClockMs();
    const decision: CleanupDecision = decideCleanup({
      wallClockMs,
      self: this.port.self,
      members: report.members.map((m, i) => ({
        id: m.id,
        voter: m.voter,
        healthy: m.healthy,
        online: m.online,
        offlineSince: offline[i]?.offlineSince ?? null,
        seenOfflineForMs: seenOfflineForMs(this.offlineSightings, m.id, nowMono),
      })),
      settings: {
        enabled: settings['autopilot.cleanup_dead_servers'],
        deadServerThresholdMs: settings['autopilot.dead_server_threshold'],
        minQuorum: settings['autopilot.min_quorum'],
      },
      changeInFlight: this.removing !== null || st.leadTransferee !== null,
    });
    this.warnWallClockAhead(decision, settings);
    if (decision.held !== this.lastHeld) {
      if (decision.held !== null) this.port.logger.warn({ held: decision.held }, `autopilot keeps a dead member: ${decision.held}`);
      this.lastHeld = decision.held;
    }
    const removal = decision.remove;
    if (removal === null) return;
    this.removing = removal.id;
    this.port.logger.warn({ member: removal.id, reason: removal.reason }, `autopilot removes ${removal.id}: ${removal.reason}`);
    this.port.remove(removal.id, removal.reason).then(
      () => {
        this.removing = null;
        this.events.onRemoved?.(removal.id, removal.reason);
      },
      (err: unknown) => {
        this.removing = null;
        // Leadership moved, or another change was in flight: the next round decides again.
        this.port.logger.info({ member: removal.id, err: err instanceof Error ? err.message : String(err) }, `removal of ${removal.id} not done; retrying`);
      },
    );
  }

  /**
   * Once per offline record: the wall clock says the member is past the threshold, the
   * monotonic clock of this leader says not yet. Either the wall clock was stepped, or this
   * leader has not watched the record long (leadership changed since it went offline).
   */
  private warnWallClockAhead(decision: CleanupDecision, settings: ClusterSettings): void {
    const warned = new Set<string>();
    for (const v of decision.voters) {
      if (v.verdict !== 'waiting' || v.byWallClockMs === undefined) continue;
      const key = `${v.id}@${String(this.offlineSightings.get(v.id)?.offlineSince)}`;
      warned.add(key);
      if (this.wallClockWarned.has(key)) continue;
      const threshold = settings['autopilot.dead_server_threshold'];
      this.port.logger.warn(
        { member: v.id, offlineByWallClockMs: v.byWallClockMs, seenOfflineMs: v.offlineForMs, remainingMs: v.remainingMs },
        `autopilot: ${v.id} is offline for ${durationText(v.byWallClockMs)} by the wall clock but this leader has seen it offline for ` +
          `${durationText(v.offlineForMs)} (the wall clock was stepped, or leadership changed since): it is removed only once this leader ` +
          `has seen it offline for autopilot.dead_server_threshold ${durationText(threshold)}, in ${durationText(v.remainingMs)}`,
      );
    }
    this.wallClockWarned = warned;
  }

  private handOff(report: ClusterHealthReport, settings: ClusterSettings, st: NodeStatus): void {
    const preferred = settings['cluster.preferred_leader'];
    const decision = this.preferredDecision(report, settings, st);
    this.preferred = decision.state;
    // Logged when the verdict changes (not its countdown), so a waiting hand-off logs once.
    if (decision.verdict.verdict !== this.lastPreferredVerdict.verdict && decision.verdict.verdict !== 'none') {
      const note = describePreferredLeader(decision.verdict, preferred);
      this.port.logger.info({ preferredLeader: preferred, verdict: decision.verdict.verdict }, `preferred leader: ${note}`);
    }
    this.lastPreferredVerdict = decision.verdict;
    this.lastPreferredFor = preferred;
    if (decision.transferTo === null) return;
    this.events.onTransfer?.(decision.transferTo);
    try {
      this.port.transferLeadership(decision.transferTo);
    } catch (err) {
      this.port.logger.info({ to: decision.transferTo, err: err instanceof Error ? err.message : String(err) }, 'leadership transfer to the preferred leader refused; retrying later');
    }
  }

  /** What the preferred-leader rules decide now, from this leader's report (pure: nothing is kept or done). */
  private preferredDecision(report: ClusterHealthReport, settings: ClusterSettings, st: NodeStatus): PreferredLeaderDecision {
    const preferred = settings['cluster.preferred_leader'];
    const member = preferred === null ? undefined : report.members.find((m) => m.id === preferred);
    const stabilizationMs = settings['autopilot.server_stabilization_time'];
    return decidePreferredLeader(this.preferred, {
      now: this.clock.now(),
      self: this.port.self,
      isLeader: true,
      leaderSince: this.leaderSince ?? this.clock.now(),
      commit: st.commit,
      candidate:
        member === undefined
          ? null
          : { voter: member.voter, healthy: member.healthy, stableSinceMono: member.stableSinceMono, match: st.progress.get(member.id)?.match ?? 0 },
      busy: st.leadTransferee !== null || this.removing !== null,
      settings: { preferred, stableForMs: stableForWithBackoff(this.backoff, stabilizationMs), minIntervalMs: preferredLeaderIntervalMs(stabilizationMs, this.port.electionTimeoutMs) },
    });
  }
}
