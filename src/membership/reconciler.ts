/**
 * Keeps the local and the committed (cluster) view of members honest with each other.
 * Pure and deterministic: the caller supplies time, the views and the committed state.
 *
 * Every node, every `state_sync_interval` (`sync`): a member whose local status disagrees with
 * the committed one, for longer than a commit takes, opens a divergence episode (one
 * `state.divergence` event, from = cluster state, to = local state). While it lasts, unless the
 * quorum assessment at this node already sides with the committed state (then only our own
 * link is bad and there is nothing to repair), `sync` returns a repair: ask the reachable
 * members for their latest activity with the member (`judgeRepair` turns their answers into a
 * verdict) and forward any correction to the leader. When the two agree again, the episode
 * closes with one `state.repaired` event.
 *
 * The leader, every tick (`lead`): propose what the assessment decides, without flooding the
 * log with the same proposal while it commits; a new term clears that memory, so a new leader
 * re-evaluates every member at once.
 */
import type { MemberStatus, NodeId } from './types.js';
import { auditEvent, type AuditEvent } from './audit.js';
import { decide, quorumOf, type Assessment, type StatusDecision } from './status-aggregator.js';

export interface LocalObservation {
  readonly status: MemberStatus;
  /** When the detector last changed this peer's status (caller's clock); null: never. */
  readonly changedAt: number | null;
}

export interface ReconcilerOptions {
  readonly self: NodeId;
  /** A disagreement younger than this is a commit in flight, not a divergence; default 1000 ms. */
  readonly graceMs?: number;
  /** The leader proposes the same uncommitted decision again after this long; default 1000 ms. */
  readonly proposalRetryMs?: number;
}

export interface SyncInput {
  readonly now: number;
  /** Wall clock for the audit events' `time`. */
  readonly wallClockMs: number;
  readonly members: readonly NodeId[];
  readonly local: ReadonlyMap<NodeId, LocalObservation>;
  readonly committed: ReadonlyMap<NodeId, MemberStatus>;
  readonly assessment: Assessment;
  /** No leader contact within an election timeout: nothing here can be judged or repaired. */
  readonly stale: boolean;
}

export interface Repair {
  readonly member: NodeId;
  /** What this node's detector says. */
  readonly suspected: MemberStatus;
  readonly committed: MemberStatus;
  /** Members this node hears from (besides itself and the member): who to ask for activity. */
  readonly ask: readonly NodeId[];
}

export interface SyncResult {
  readonly events: readonly AuditEvent[];
  readonly repairs: readonly Repair[];
}

/** One member's answer to "when did you last hear from X". */
export interface ActivityReport {
  readonly from: NodeId;
  readonly lastContactAgoMs: number | null;
  readonly timeoutMs: number;
}

export interface LeadInput {
  readonly now: number;
  readonly term: number;
  readonly assessment: Assessment;
  readonly committed: ReadonlyMap<NodeId, MemberStatus>;
}

interface Episode {
  readonly openedAt: number;
  readonly cluster: MemberStatus;
}

export class Reconciler {
  private readonly episodes = new Map<NodeId, Episode>();
  private readonly inflight = new Map<NodeId, { readonly status: MemberStatus; readonly at: number }>();
  private leadTerm: number | null = null;
  private readonly graceMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: ReconcilerOptions) {
    this.graceMs = options.graceMs ?? 1_000;
    this.retryMs = options.proposalRetryMs ?? 1_000;
  }

  /** Members with an open divergence episode. */
  diverging(): readonly NodeId[] {
    return [...this.episodes.keys()];
  }

  sync(input: SyncInput): SyncResult {
    const events: AuditEvent[] = [];
    const repairs: Repair[] = [];
    const present = new Set(input.members);
    for (const id of [...this.episodes.keys()]) if (!present.has(id)) this.episodes.delete(id);
    if (input.stale) return { events, repairs };

    const self = this.options.self;
    const ask = input.members.filter((m) => m !== self && input.local.get(m)?.status === 'online');
    for (const id of input.members) {
      if (id === self) continue;
      const cluster = input.committed.get(id);
      const local = input.local.get(id);
      if (cluster === undefined || local === undefined) continue;
      const episode = this.episodes.get(id);
      const verdict = input.assessment.kind === 'quorum' ? input.assessment.verdicts.get(id) : undefined;
      const quorumView = verdict?.kind === 'decided' ? verdict.status : 'unavailable';

      if (local.status === cluster) {
        if (episode !== undefined) {
          this.episodes.delete(id);
          events.push(
            auditEvent(input.wallClockMs, self, 'state.repaired', {
              subject: id,
              from: episode.cluster,
              to: cluster,
              reason: `local and cluster state agree (${cluster}) after ${Math.round(input.now - episode.openedAt)}ms`,
            }),
          );
        }
        continue;
      }

      if (episode === undefined) {
        if (local.changedAt !== null && input.now - local.changedAt < this.graceMs) continue;
        this.episodes.set(id, { openedAt: input.now, cluster });
        events.push(
          auditEvent(input.wallClockMs, self, 'state.divergence', {
            subject: id,
            from: cluster,
            to: local.status,
            reason: `local ${local.status}, cluster ${cluster}; quorum view ${quorumView}`,
          }),
        );
      }
      // The quorum already agrees with the committed state: only our own link is bad.
      if (quorumView === cluster) continue;
      repairs.push({ member: id, suspected: local.status, committed: cluster, ask: ask.filter((m) => m !== id) });
    }
    return { events, repairs };
  }

  /** Leader only: the setStatus proposals to make now. */
  lead(input: LeadInput): readonly StatusDecision[] {
    if (input.term !== this.leadTerm) {
      this.leadTerm = input.term;
      this.inflight.clear();
    }
    const decisions = decide(input.assessment, input.committed);
    const wanted = new Set(decisions.map((d) => d.id));
    for (const id of [...this.inflight.keys()]) if (!wanted.has(id)) this.inflight.delete(id);
    return decisions.filter((d) => {
      const sent = this.inflight.get(d.id);
      if (sent !== undefined && sent.status === d.status && input.now - sent.at < this.retryMs) return false;
      this.inflight.set(d.id, { status: d.status, at: input.now });
      return true;
    });
  }
}

/**
 * Turns the answers to a repair's activity query (this node's own included) into a correction
 * for the leader, or null. Needs answers from a quorum of voters other than the member, and
 * judges by the definition of online, as the quorum verdict does: online when the voters that
 * heard it within their timeout (and the member itself, if it votes and anyone heard it) make a
 * quorum; offline only when they could not, even if every voter not asked heard it. A majority
 * of the answers was not enough: across a bridge, the two asked on one side outvoted the one
 * that heard the member, though the unasked side heard it too (5 nodes, base 500 ms, partial
 * partitions: 13 of 150 seeds).
 */
export function judgeRepair(repair: Repair, reports: readonly ActivityReport[], voters: readonly NodeId[]): StatusDecision | null {
  const byVoter = new Map<NodeId, ActivityReport>();
  for (const r of reports) if (r.from !== repair.member && voters.includes(r.from)) byVoter.set(r.from, r);
  const quorum = quorumOf(voters.length);
  if (byVoter.size < quorum) return null;
  let hearers = 0;
  for (const r of byVoter.values()) if (r.lastContactAgoMs !== null && r.lastContactAgoMs <= r.timeoutMs) hearers++;
  const votes = voters.includes(repair.member);
  const heard = hearers + (votes && hearers > 0 ? 1 : 0);
  const unasked = voters.filter((v) => v !== repair.member && !byVoter.has(v)).length;
  const couldBe = hearers + unasked + (votes && hearers + unasked > 0 ? 1 : 0);
  let status: MemberStatus;
  if (heard >= quorum) status = 'online';
  else if (couldBe < quorum) status = 'offline';
  else return null;
  if (status === repair.committed) return null;
  return { id: repair.member, status, reason: `repair: ${status}: heard by ${heard} of ${voters.length} voters (${hearers} of ${byVoter.size} asked${votes && hearers > 0 ? ', counting itself' : ''}), ${quorum} needed` };
}

/**
 * The leader's check on a correction forwarded by a follower's repair (which `judgeRepair`
 * based on a quorum of answers): accepted unless the leader's own quorum assessment has
 * decided the opposite.
 */
export function acceptForwarded(decision: StatusDecision, assessment: Assessment): boolean {
  if (assessment.kind !== 'quorum') return true;
  const v = assessment.verdicts.get(decision.id);
  return v?.kind !== 'decided' || v.status === decision.status;
}
