/**
 * From many nodes' local views to one decision per member. Pure: the views, the clock reading
 * and the committed state come in as arguments.
 *
 * The rule is the definition of online (docs/membership.md): a member is online when a quorum
 * of voters, itself included, hears from it within its timeout.
 *   1. Only voters vote, and only with a fresh view (received within `viewTtlMs`, first-hand or
 *      relayed). The assessing node's own view counts and is always fresh.
 *   2. Nothing is decided unless fresh views come from a quorum of voters. An isolated leader
 *      sees its reporters' views expire before its own detector times anyone out (view TTL <=
 *      base timeout <= every peer timeout), so it decides nothing and leaves the decision to
 *      the leader the majority elects.
 *   3. A member's hearers are the fresh voters other than itself whose entry says they heard
 *      it within its timeout (an entry that never heard it does not count). A voter that
 *      others hear is running, so it counts as hearing itself. Online when its hearers, itself
 *      included, make a quorum of the voters. Every node that holds the same views (relays
 *      carry them across a partial partition) computes the same verdict, and one bad link costs
 *      a member one hearer, never its status while a quorum still hears it.
 *   4b. A reporter on a slow link (slowLinkReporters) has no say: its views may be older than
 *      rule 4 reads them forward.
 *   5. Offline only when it is certain (rule 4, reading views forward, is below): when the hearers we know of fall short but the voters
 *      whose word we do not hold (no fresh view, or no entry for the member) could make up the
 *      quorum, the verdict is `undetermined` and the committed status stands. A view that
 *      arrives late on a loaded machine can delay an answer, never turn it false.
 *   A member nobody has ever heard from is `never-heard` (unknown), not offline.
 */
import type { MemberStatus, NodeId } from './types.js';
import type { ReceivedView } from './view-table.js';
import type { ViewEntry } from './view-codec.js';

export interface AssessInput {
  readonly voters: readonly NodeId[];
  /** Everyone to judge: voters and learners. */
  readonly members: readonly NodeId[];
  /** The latest view from each reporter, the assessing node's own included (receivedAt = now). */
  readonly views: ReadonlyMap<NodeId, ReceivedView>;
  readonly now: number;
  /** Must not exceed the failure detector's base timeout (see rule 2). */
  readonly viewTtlMs: number;
  /** Rule 4; without it every entry votes exactly as it was reported. */
  readonly aging?: ViewAging;
}

/**
 * Rule 4. Reading a view forward is right as long as the reporter has not heard the member since
 * it sent the view. A healthy reporter sends a newer view every ping interval, so a view older
 * than `horizonMs` is taken as reported: its reporter is cut off from us or stopped, and what it
 * last said is all we know (it then expires with the view TTL, rule 1). Within the horizon, only
 * an entry that was already silent for T - horizon - transit can flip, that is a member the
 * reporter had not heard for most of its timeout (see defaultAgingHorizonMs).
 */
export interface ViewAging {
  readonly horizonMs: number;
  /**
   * The estimated one-way delay of each reporter's views to the assessing node (half the
   * moving-average RTT, capped at the horizon); missing: 0. The assessing node's own view has
   * no transit and its age is 0, so its entries vote as its detector would at `now`.
   */
  readonly transitMs: ReadonlyMap<NodeId, number>;
  /**
   * Reporters whose views reach us much later than the others' (slowLinkReporters): a view may
   * be older than the horizon can read forward, so its entries are not counted either way. Each
   * such reporter counts as a voter whose word we do not hold (rule 5). Its "I hear X" does not
   * give X its own vote either (rule 3): where X's own view is not fresh and only slow reporters
   * hear X, X is offline, so a timely reporter must never be taken for a slow one
   * (MembershipEngine.notePingUnanswered).
   */
  readonly slow: ReadonlySet<NodeId>;
}

/**
 * The reporters on slow links: the last round trip to each (`lastRttMs`) beyond twice the
 * typical one (the lower median of the moving averages, `averageRttMs`) plus the horizon. Rule 4
 * adds at most the horizon for a view's transit; a link whose messages take longer (a lossy link
 * over which TCP resends late, a filling queue) would bring a reporter's "I hear X" to us after
 * every other voter had timed X out: one slow link in 3 nodes kept a member killed shown online
 * 3.6-3.8 s on the node at its far end, against the others and the committed state. The last
 * round trip, not the average, so that a link turning slow counts at its first slow answer.
 */
export function slowLinkReporters(lastRttMs: ReadonlyMap<NodeId, number>, averageRttMs: readonly number[], horizonMs: number): ReadonlySet<NodeId> {
  const sorted = [...averageRttMs].sort((a, b) => a - b);
  const typical = sorted[Math.floor((sorted.length - 1) / 2)];
  const out = new Set<NodeId>();
  if (typical === undefined) return out;
  for (const [reporter, rtt] of lastRttMs) if (rtt > 2 * typical + horizonMs) out.add(reporter);
  return out;
}

/** How `reporter`'s entry votes at `now` (rule 4). */
export function entryVote(reporter: NodeId, entry: ViewEntry, receivedAt: number, now: number, aging: ViewAging | undefined): MemberStatus {
  if (entry.status === 'offline' || aging === undefined || entry.lastContactAgoMs === null) return entry.status;
  const age = Math.max(0, now - receivedAt);
  if (age > aging.horizonMs) return entry.status;
  const transit = Math.min(aging.horizonMs, aging.transitMs.get(reporter) ?? 0);
  return entry.lastContactAgoMs + age + transit > entry.timeoutMs ? 'offline' : 'online';
}

export type Verdict =
  | {
      readonly kind: 'decided';
      readonly status: MemberStatus;
      /** Fresh voters (not the member itself) that hear it. */
      readonly onlineVotes: readonly NodeId[];
      /** Fresh voters (not the member itself) that do not. */
      readonly offlineVotes: readonly NodeId[];
      /** The member is a voter heard by someone: it counts as hearing itself. */
      readonly selfVote: boolean;
      readonly voters: number;
      /** Median of the offline voters' timeouts for the member (0 when none voted offline). */
      readonly timeoutMs: number;
    }
  /** No fresh voter other than the member itself has an entry for it. */
  | { readonly kind: 'no-electorate' }
  /**
   * Too few hearers among the views we hold, but the voters whose views we do not hold (or
   * that do not know the member) could make up the quorum: we cannot tell, so nothing is
   * decided and the committed status stands.
   */
  | { readonly kind: 'undetermined'; readonly heard: number; readonly unknown: readonly NodeId[] }
  /** Nobody whose view we hold has ever heard from it, nor has its own view reached us. */
  | { readonly kind: 'never-heard' };

export type Assessment =
  | { readonly kind: 'quorum'; readonly freshVoters: readonly NodeId[]; readonly verdicts: ReadonlyMap<NodeId, Verdict> }
  | { readonly kind: 'no-quorum'; readonly freshVoters: readonly NodeId[]; readonly quorum: number };

export const quorumOf = (voters: number): number => Math.floor(voters / 2) + 1;

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

export function assess(input: AssessInput): Assessment {
  const fresh: NodeId[] = [];
  for (const v of input.voters) {
    const rv = input.views.get(v);
    if (rv !== undefined && input.now - rv.receivedAt <= input.viewTtlMs) fresh.push(v);
  }
  const quorum = quorumOf(input.voters.length);
  if (input.voters.length === 0 || fresh.length < quorum) return { kind: 'no-quorum', freshVoters: fresh, quorum };

  // Each fresh reporter's entries by member id, built once (not once per member).
  const entriesOf = new Map<NodeId, ReadonlyMap<NodeId, ViewEntry>>();
  for (const reporter of fresh) {
    const rv = input.views.get(reporter);
    if (rv !== undefined) entriesOf.set(reporter, new Map(rv.view.entries.map((e) => [e.id, e])));
  }
  const verdicts = new Map<NodeId, Verdict>();
  for (const member of input.members) {
    const online: NodeId[] = [];
    const offline: NodeId[] = [];
    const offlineTimeouts: number[] = [];
    let everHeard = false;
    for (const reporter of fresh) {
      if (reporter === member || input.aging?.slow.has(reporter) === true) continue;
      const rv = input.views.get(reporter);
      const entry = entriesOf.get(reporter)?.get(member);
      if (rv === undefined || entry === undefined) continue;
      if (entry.lastContactAgoMs !== null) everHeard = true;
      if (entry.lastContactAgoMs !== null && entryVote(reporter, entry, rv.receivedAt, input.now, input.aging) === 'online') online.push(reporter);
      else {
        offline.push(reporter);
        offlineTimeouts.push(entry.timeoutMs);
      }
    }
    const ownViewFresh = fresh.includes(member);
    if (online.length + offline.length === 0 && !ownViewFresh) {
      verdicts.set(member, { kind: 'no-electorate' });
      continue;
    }
    if (!everHeard && !ownViewFresh) {
      verdicts.set(member, { kind: 'never-heard' });
      continue;
    }
    const selfVote = input.voters.includes(member) && (ownViewFresh || online.length > 0);
    const heard = online.length + (selfVote ? 1 : 0);
    if (heard < quorum) {
      // Voters we hold no word from (no fresh view, or no entry for the member) may hear it.
      const unknown = input.voters.filter((v) => v !== member && !online.includes(v) && !offline.includes(v));
      if (heard + unknown.length >= quorum) {
        verdicts.set(member, { kind: 'undetermined', heard, unknown });
        continue;
      }
    }
    verdicts.set(member, {
      kind: 'decided',
      status: heard >= quorum ? 'online' : 'offline',
      onlineVotes: online,
      offlineVotes: offline,
      selfVote,
      voters: input.voters.length,
      timeoutMs: median(offlineTimeouts),
    });
  }
  return { kind: 'quorum', freshVoters: fresh, verdicts };
}

/** A change the leader should propose as `setStatus` (it adds term and observedAt). */
export interface StatusDecision {
  readonly id: NodeId;
  readonly status: MemberStatus;
  readonly reason: string;
}

export function describeVerdict(v: Extract<Verdict, { kind: 'decided' }>, first = false): string {
  const heard = v.onlineVotes.length + (v.selfVote ? 1 : 0);
  const of = `heard by ${heard} of ${v.voters} voters${v.selfVote ? ' counting itself' : ''}, ${quorumOf(v.voters)} needed`;
  if (v.status === 'offline') {
    const silent = v.offlineVotes.length > 0 ? `; silent for ${v.offlineVotes.join(', ')}` : '';
    return `heartbeat timeout ${v.timeoutMs}ms (${of}${silent})`;
  }
  return `${first ? 'first contact' : 'heartbeat resumed'} (${of})`;
}

/**
 * The changes against `committed` that the assessment supports: level-triggered, so a decision
 * lost with an old leader's uncommitted entry is simply decided again by the next leader.
 * A member with no committed status yet (never decided by a leader) gets its first one once
 * somebody has heard from it; a member nobody has heard from keeps none (unknown).
 */
export function decide(assessment: Assessment, committed: ReadonlyMap<NodeId, MemberStatus>): readonly StatusDecision[] {
  if (assessment.kind === 'no-quorum') return [];
  const out: StatusDecision[] = [];
  for (const [id, v] of assessment.verdicts) {
    if (v.kind !== 'decided' || committed.get(id) === v.status) continue;
    out.push({ id, status: v.status, reason: describeVerdict(v, !committed.has(id)) });
  }
  return out;
}
