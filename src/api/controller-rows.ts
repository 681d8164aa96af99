/**
 * One row of `list controllers`, from the membership engine to the JSON: ControllerStatus is
 * the contract's row, the same in the client and in `ctl -o json`. The server builds it here
 * from the engine's MemberRow and what Raft and the replicated records add (address, leader,
 * voter, applied index). On the wire (ControllerStatus in proto/controller.proto) a null
 * contact time travels as `neverHeard` and a null version as '' (proto3 has no null); the
 * client's decoder turns them back.
 */
import type { MemberRow, MembershipView } from '../membership/membership-engine.js';
import type { ShownStatus } from '../membership/types.js';
import type { MemberRecord } from '../statemachine/index.js';
import type { ConsensusStatus } from './consensus-port.js';
import { describeRefusals } from './quorum-guard.js';

/** One member as the answering controller sees it; fields in the contract's order. */
export interface ControllerStatus {
  readonly id: string;
  readonly address: string;
  /** Never true for a member nobody has heard from yet. */
  readonly online: boolean;
  readonly localState: ShownStatus;
  /** unknown until a leader first decides the member's status. */
  readonly clusterState: ShownStatus;
  readonly leader: boolean;
  readonly voter: boolean;
  /** null: the answering node has never heard from it (0 for itself). */
  readonly lastContactMs: number | null;
  readonly heartbeatTimeoutMs: number;
  readonly rttP50Ms: number;
  readonly rttP99Ms: number;
  readonly appliedIndex: number;
  readonly lagEntries: number;
  /** The member's own version, as its pings carry it; null: not heard from yet. */
  readonly version: string | null;
  /** The controller whose view this is. */
  readonly answeredBy: string;
  /** That controller cannot vouch for its view (as ControllersView.stale). */
  readonly stale: boolean;
  /** Added beside the contract's fields: leader, follower, candidate or learner. */
  readonly role: ControllerRole;
  /**
   * Added: the answering node saw two processes speak as this member (DUPLICATE_PROCESS), or,
   * for its own row, peers refuse it as one: the process shown may be a copy of its data dir.
   */
  readonly duplicateProcess: boolean;
}

/** What a member is, as the answering node sees it (a pre-candidate counts as a candidate). */
export const CONTROLLER_ROLES = ['leader', 'follower', 'candidate', 'learner'] as const;
export type ControllerRole = (typeof CONTROLLER_ROLES)[number];

/** ControllerStatus's field order in JSON: the contract's fields, then those added beside them. */
export const CONTROLLER_FIELDS = [
  'id',
  'address',
  'online',
  'localState',
  'clusterState',
  'leader',
  'voter',
  'lastContactMs',
  'heartbeatTimeoutMs',
  'rttP50Ms',
  'rttP99Ms',
  'appliedIndex',
  'lagEntries',
  'version',
  'answeredBy',
  'stale',
  // Fields added after the contract's, in the order they were added.
  'role',
  'duplicateProcess',
] as const satisfies readonly (keyof ControllerStatus)[];

/** The answer to ListControllers. */
export interface ControllersView {
  readonly controllers: readonly ControllerStatus[];
  /** The answering node cannot vouch for its view: no quorum heard within an election timeout, or no leader for three (MembershipEngine.view). */
  readonly stale: boolean;
  /** The id of the node that answered. */
  readonly answeredBy: string;
  readonly staleReason: string;
  /**
   * Peers of the answering node's cluster file or membership that answer for another cluster
   * id, named with the fix (two clusters under one cluster file, after a restore run on more
   * than one host); '' when none. Older servers do not say: ''.
   */
  readonly otherClusters: string;
}

/** ControllerStatus as proto3 carries it. */
export type ControllerStatusWire = Omit<ControllerStatus, 'lastContactMs' | 'version'> & {
  readonly lastContactMs: number;
  readonly neverHeard: boolean;
  readonly version: string;
};

export interface ControllersViewWire extends Omit<ControllersView, 'controllers'> {
  readonly controllers: readonly ControllerStatusWire[];
}

export function controllersViewWire(view: ControllersView): ControllersViewWire {
  return {
    ...view,
    controllers: view.controllers.map((c) => ({ ...c, lastContactMs: c.lastContactMs ?? 0, neverHeard: c.lastContactMs === null, version: c.version ?? '' })),
  };
}

export interface ControllerRowSources {
  readonly self: string;
  readonly version: string;
  readonly raft: Pick<ConsensusStatus, 'leader' | 'commit' | 'conf' | 'role'>;
  /** The members as committed, in the order rows are listed. */
  readonly members: readonly MemberRecord[];
  /** This node's applied index (exact, where the views' are as last reported). */
  readonly appliedIndex: number;
  readonly membership: MembershipView;
  /** Two processes speak as `id` in this node's view (its own id: peers refuse it as one); absent: none known. */
  readonly duplicate?: (id: string) => boolean;
  /** The peers that refuse this node as another process of its member, named in a stale view's reason. */
  readonly refusedAsDuplicateBy?: readonly string[];
  /** Why peers refuse this node's cluster name (name-refusers.ts), named in a stale view's reason; '' or absent: none do. */
  readonly refusedForName?: string;
  /** Peers answering for another cluster id, described with the fix (NodeIdentity.otherClustersReason); '' or absent: none. */
  readonly otherClusters?: string;
}

/** Built key by key in the contract's order, so JSON.stringify keeps it. */
function controllerStatus(s: ControllerRowSources, m: MemberRecord, row: MemberRow | undefined): ControllerStatus {
  const self = m.id === s.self;
  const applied = self ? s.appliedIndex : (row?.appliedIndex ?? 0);
  return {
    id: m.id,
    address: m.address,
    online: row?.online ?? false,
    localState: self ? 'online' : (row?.localState ?? 'unknown'),
    // A record no leader has decided yet (term 0: bootstrapped or just added) is unknown.
    clusterState: row?.clusterState ?? (m.statusTerm === 0 ? 'unknown' : m.status),
    leader: s.raft.leader === m.id,
    voter: s.raft.conf.voters.includes(m.id),
    lastContactMs: self ? 0 : (row?.peer?.lastContactMs ?? null),
    heartbeatTimeoutMs: row?.peer?.timeoutMs ?? 0,
    rttP50Ms: row?.peer?.rttP50Ms ?? 0,
    rttP99Ms: row?.peer?.rttP99Ms ?? 0,
    appliedIndex: applied,
    lagEntries: Math.max(0, s.raft.commit - applied),
    version: self ? s.version : (row?.version ?? null),
    answeredBy: s.self,
    stale: s.membership.stale,
    role: roleOf(s, m.id),
    duplicateProcess: s.duplicate?.(m.id) ?? false,
  };
}

/** Only the answering node knows whether it is campaigning; others are followers or learners. */
function roleOf(s: ControllerRowSources, id: string): ControllerRole {
  if (s.raft.leader === id) return 'leader';
  if (s.raft.conf.learners.includes(id)) return 'learner';
  if (id === s.self && (s.raft.role === 'candidate' || s.raft.role === 'pre-candidate')) return 'candidate';
  return 'follower';
}

/** A row per committed member, in the records' order. */
export function controllersView(s: ControllerRowSources): ControllersView {
  const rows = new Map(s.membership.rows.map((r) => [r.id, r]));
  return {
    controllers: s.members.map((m) => controllerStatus(s, m, rows.get(m.id))),
    stale: s.membership.stale,
    answeredBy: s.self,
    staleReason: staleReason(s),
    otherClusters: s.otherClusters ?? '',
  };
}

/** The membership layer's reason, and who refuses this node as a second process or over its name (why they may not answer). */
function staleReason(s: ControllerRowSources): string {
  if (!s.membership.stale) return s.membership.staleReason;
  return [s.membership.staleReason, describeRefusals(s.self, s.refusedAsDuplicateBy ?? [], s.refusedForName ?? '')].filter((part) => part !== '').join('; ');
}
