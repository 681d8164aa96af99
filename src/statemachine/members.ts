/**
 * The members kind: the application's record of each controller (address, role, and the
 * online/offline status committed through Raft). Who votes is decided by the Raft core's
 * conf-change entries; the node host applies the matching command here when it applies one,
 * so this table follows the Raft configuration rather than driving it.
 *
 * It also holds the cluster's identity (src/identity/): the cluster id its first leader drew,
 * the incarnation (data dir) each member runs with once the cluster has heard from it, and the
 * incarnations of removed members. Every replica refuses a member's messages from any other
 * incarnation, so a member whose state was lost cannot come back as itself.
 */
import { CommandError, SnapshotError } from './errors.js';
import { Fields } from '../util/untrusted.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { failure, okResult, type ApplyResult } from './result.js';
import { TransitionLog } from './transition-log.js';

export const MEMBERS_KIND = 'members';
export const MAX_MEMBER_ID_BYTES = 256;
export const MAX_ADDRESS_BYTES = 256;
export const MAX_REASON_BYTES = 1024;
export const MAX_BOOTSTRAP_MEMBERS = 1000;
/** Ids of removed members remembered, so a repeated `member remove` can say "already removed". */
export const MAX_REMOVED_IDS = 1000;
/** Incarnations of removed members remembered; the oldest are forgotten first. */
export const MAX_REMOVED_INCARNATIONS = 1000;
/** Cluster ids and incarnations: 64 random bits in hex. */
export const IDENTITY_PATTERN = /^[0-9a-f]{16}$/;

export type MemberRole = 'voter' | 'learner';
export type MemberStatus = 'online' | 'offline';

/**
 * A committed status change (or a member's first decided status), in commit order: every node
 * audits each one (src/node/membership-driver.ts). A node that applies several in one batch (it
 * was stalled, or catching up) would see only the last by comparing records.
 */
export interface MemberStatusTransition {
  readonly seq: number;
  readonly id: string;
  /** 'unknown': no leader had decided the member's status before. */
  readonly from: MemberStatus | 'unknown';
  readonly to: MemberStatus;
  readonly reason: string;
  readonly observedAt: number;
  /** `${statusSince}.1` after the change: orders it against what an audit trail recorded. */
  readonly mark: string;
}

/** Transitions kept for readers that apply in batches; one that falls further behind compares records instead. */
export const MEMBER_TRANSITIONS_KEPT = 1_024;

export interface MemberRecord {
  readonly id: string;
  readonly address: string;
  readonly role: MemberRole;
  readonly status: MemberStatus;
  /**
   * The Raft index of the entry that gave `status` its current value: orders a member's status
   * changes. Not a revision: health records never advance the cluster revision.
   */
  readonly statusSince: number;
  readonly statusReason: string;
  /** The Raft term of the leader that decided `status`; 0 before any decision. */
  readonly statusTerm: number;
  /** The deciding leader's clock (ms since the epoch) when it observed the status; informational. */
  readonly statusObservedAt: number;
  /** A learner added by a plain `member add`: the leader promotes it once caught up (src/autopilot). */
  readonly autoPromote: boolean;
  /** The incarnation (data dir) the cluster knows this member by; '' until it has heard from it. */
  readonly incarnation: string;
}

export interface MembersBootstrap {
  readonly kind: 'members';
  readonly op: 'bootstrap';
  readonly members: readonly { readonly id: string; readonly address: string }[];
}

/** Adds a learner (Raft thesis §4.2.1: catch up before voting); `promote` makes it a voter. */
export interface MembersAdd {
  readonly kind: 'members';
  readonly op: 'add';
  readonly id: string;
  readonly address: string;
  /** Accepted for explicitness; a new member is always a learner. */
  readonly learner?: true;
  /** The operator's intent: promote it once it has caught up (absent: leave it to the operator). */
  readonly autoPromote?: true;
}

export interface MembersPromote {
  readonly kind: 'members';
  readonly op: 'promote';
  readonly id: string;
}

export interface MembersRemove {
  readonly kind: 'members';
  readonly op: 'remove';
  readonly id: string;
}

export interface MembersSetStatus {
  readonly kind: 'members';
  readonly op: 'setStatus';
  readonly id: string;
  readonly status: MemberStatus;
  readonly reason: string;
  /** ms since the epoch on the deciding leader's clock; recorded, never compared. */
  readonly observedAt: number;
  /** The term of the leader that decided; a decision from an older term than recorded is ignored. */
  readonly term: number;
}

/**
 * The cluster's first leader draws the cluster id and records the incarnations it has heard
 * from. Applies once: a cluster that has an id keeps it.
 */
export interface MembersEstablish {
  readonly kind: 'members';
  readonly op: 'establish';
  readonly clusterId: string;
  readonly incarnations: readonly { readonly id: string; readonly incarnation: string }[];
}

/** Records a member's incarnation the first time a leader hears from it; never replaces one. */
export interface MembersRecordIncarnation {
  readonly kind: 'members';
  readonly op: 'recordIncarnation';
  readonly id: string;
  readonly incarnation: string;
}

export type MembersCommand =
  | MembersBootstrap
  | MembersAdd
  | MembersPromote
  | MembersRemove
  | MembersSetStatus
  | MembersEstablish
  | MembersRecordIncarnation;

/** The `value` of a setStatus result. */
export interface StatusChange {
  /** Whether the status changed (a newer term confirming the same status does not). */
  readonly changed: boolean;
  readonly from: MemberStatus;
  readonly to: MemberStatus;
}

export interface MembersView {
  /** All members sorted by id. */
  list(): readonly MemberRecord[];
  get(id: string): MemberRecord | null;
  readonly size: number;
  /** True when `id` was a member and was removed (and not added again since). */
  wasRemovedId(id: string): boolean;
  /** Those ids, oldest removal first. */
  removedIdList(): readonly string[];
  /** The cluster id its first leader drew; null until then. */
  readonly clusterId: string | null;
  /** True when `incarnation` belonged to a member since removed. */
  wasRemoved(incarnation: string): boolean;
  /** Status transitions after `seq` (see TransitionLog; the seq starts again at 0 with a snapshot install). */
  statusTransitionsSince(seq: number): { readonly items: readonly MemberStatusTransition[]; readonly missed: boolean };
  readonly statusTransitionSeq: number;
}

const OPS = ['bootstrap', 'add', 'promote', 'remove', 'setStatus', 'establish', 'recordIncarnation'] as const;
const FIELDS: Readonly<Record<MembersCommand['op'], ReadonlySet<string>>> = {
  bootstrap: commandFields('op', 'members'),
  add: commandFields('op', 'id', 'address', 'learner', 'autoPromote'),
  promote: commandFields('op', 'id'),
  remove: commandFields('op', 'id'),
  setStatus: commandFields('op', 'id', 'status', 'reason', 'observedAt', 'term'),
  establish: commandFields('op', 'clusterId', 'incarnations'),
  recordIncarnation: commandFields('op', 'id', 'incarnation'),
};
const ID_RULE = { nonEmpty: true, maxBytes: MAX_MEMBER_ID_BYTES } as const;
const ADDRESS_RULE = { nonEmpty: true, maxBytes: MAX_ADDRESS_BYTES } as const;
const REASON_RULE = { maxBytes: MAX_REASON_BYTES } as const;
const ROLES = ['voter', 'learner'] as const;
const STATUSES = ['online', 'offline'] as const;

function parseMembers(fields: Fields): MembersCommand {
  const op = fields.oneOf('op', OPS);
  fields.only(FIELDS[op]);
  switch (op) {
    case 'bootstrap': {
      const seen = new Set<string>();
      const members = fields.array('members', MAX_BOOTSTRAP_MEMBERS).map((item, i) => {
        const f = Fields.of(item, `command.members[${i}]`, (m) => new CommandError(m)).only(new Set(['id', 'address']));
        const member = { id: f.string('id', ID_RULE), address: f.string('address', ADDRESS_RULE) };
        if (seen.has(member.id)) fields.fail(`member id "${member.id}" appears twice`);
        seen.add(member.id);
        return member;
      });
      if (members.length === 0) fields.fail('field "members" must not be empty');
      return { kind: 'members', op, members };
    }
    case 'add': {
      if (fields.has('learner') && fields.boolean('learner') !== true) {
        fields.fail('field "learner" must be true: a new member always starts as a learner');
      }
      if (fields.has('autoPromote') && fields.boolean('autoPromote') !== true) fields.fail('field "autoPromote" must be true when present');
      const add = { kind: 'members', op, id: fields.string('id', ID_RULE), address: fields.string('address', ADDRESS_RULE) } as const;
      return fields.has('autoPromote') ? { ...add, autoPromote: true } : add;
    }
    case 'promote':
    case 'remove':
      return { kind: 'members', op, id: fields.string('id', ID_RULE) };
    case 'setStatus':
      return {
        kind: 'members',
        op,
        id: fields.string('id', ID_RULE),
        status: fields.oneOf('status', STATUSES),
        reason: fields.string('reason', REASON_RULE),
        observedAt: fields.finite('observedAt'),
        term: fields.int('term', { min: 0 }),
      };
    case 'establish': {
      const clusterId = identityField(fields, 'clusterId');
      const seen = new Set<string>();
      const incarnations = fields.array('incarnations', MAX_BOOTSTRAP_MEMBERS).map((item, i) => {
        const f = Fields.of(item, `command.incarnations[${i}]`, (m) => new CommandError(m)).only(new Set(['id', 'incarnation']));
        const entry = { id: f.string('id', ID_RULE), incarnation: identityField(f, 'incarnation') };
        if (seen.has(entry.id)) fields.fail(`member id "${entry.id}" appears twice`);
        seen.add(entry.id);
        return entry;
      });
      return { kind: 'members', op, clusterId, incarnations };
    }
    case 'recordIncarnation':
      return { kind: 'members', op, id: fields.string('id', ID_RULE), incarnation: identityField(fields, 'incarnation') };
    default: {
      const never: never = op;
      return never;
    }
  }
}

function identityField(fields: Fields, key: string): string {
  const v = fields.string(key);
  if (!IDENTITY_PATTERN.test(v)) fields.fail(`field "${key}" must be 16 lowercase hex digits, found ${JSON.stringify(v.slice(0, 40))}`);
  return v;
}

export class MembersStore implements KindInstance<MembersCommand, MembersView>, MembersView {
  private readonly records = new Map<string, MemberRecord>();
  private sorted: readonly MemberRecord[] | null = [];
  /** Ids of removed members, oldest first, at most MAX_REMOVED_IDS. */
  private removedIds: string[] = [];
  private cluster: string | null = null;
  /** Incarnations of removed members, oldest first. */
  private removed: string[] = [];
  private removedSet = new Set<string>();
  /** Derived from the entries applied here, not part of a snapshot. */
  private readonly statusLog = new TransitionLog<MemberStatusTransition>(MEMBER_TRANSITIONS_KEPT);

  statusTransitionsSince(seq: number): { readonly items: readonly MemberStatusTransition[]; readonly missed: boolean } {
    return this.statusLog.since(seq);
  }

  get statusTransitionSeq(): number {
    return this.statusLog.seq;
  }

  get clusterId(): string | null {
    return this.cluster;
  }

  wasRemoved(incarnation: string): boolean {
    return this.removedSet.has(incarnation);
  }

  get view(): MembersView {
    return this;
  }

  get size(): number {
    return this.records.size;
  }

  list(): readonly MemberRecord[] {
    this.sorted ??= [...this.records.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  get(id: string): MemberRecord | null {
    return this.records.get(id) ?? null;
  }

  wasRemovedId(id: string): boolean {
    return this.removedIds.includes(id);
  }

  removedIdList(): readonly string[] {
    return this.removedIds;
  }

  private forgetRemoval(id: string): void {
    if (this.removedIds.includes(id)) this.removedIds = this.removedIds.filter((x) => x !== id);
  }

  private rememberRemoval(id: string): void {
    this.forgetRemoval(id);
    this.removedIds.push(id);
    if (this.removedIds.length > MAX_REMOVED_IDS) this.removedIds.shift();
  }

  apply(command: MembersCommand, ctx: ApplyContext): ApplyResult {
    switch (command.op) {
      case 'bootstrap':
        return this.bootstrap(command, ctx);
      case 'add':
        return this.add(command, ctx);
      case 'promote':
        return this.promote(command, ctx);
      case 'remove':
        return this.remove(command, ctx);
      case 'setStatus':
        return this.setStatus(command, ctx);
      case 'establish':
        return this.establish(command, ctx);
      case 'recordIncarnation':
        return this.recordIncarnation(command, ctx);
      default: {
        const never: never = command;
        return never;
      }
    }
  }

  private bootstrap(command: MembersBootstrap, ctx: ApplyContext): ApplyResult {
    if (this.records.size > 0) {
      return failure('CONFLICT', `bootstrap needs an empty members table, found ${this.records.size} members`);
    }
    const revision = ctx.bump();
    for (const { id, address } of command.members) {
      this.forgetRemoval(id); // a member again, as after an add
      this.set({ id, address, role: 'voter', ...initialStatus('online', 'bootstrap', ctx.index), autoPromote: false, incarnation: '' });
    }
    return okResult(revision);
  }

  private add(command: MembersAdd, ctx: ApplyContext): ApplyResult {
    const existing = this.records.get(command.id);
    if (existing !== undefined) {
      return failure('CONFLICT', `member "${command.id}" already exists as a ${existing.role} at ${existing.address}`);
    }
    const revision = ctx.bump();
    this.forgetRemoval(command.id);
    // Offline until the failure detector hears from it: a member that was never seen is not online.
    this.set({ id: command.id, address: command.address, role: 'learner', ...initialStatus('offline', 'added', ctx.index), autoPromote: command.autoPromote === true, incarnation: '' });
    return okResult(revision);
  }

  private promote(command: MembersPromote, ctx: ApplyContext): ApplyResult {
    const existing = this.records.get(command.id);
    if (existing === undefined) return failure('NOT_FOUND', `member "${command.id}" does not exist`);
    // Idempotent: the table follows conf changes, and re-applying one must not fail.
    if (existing.role === 'voter') return okResult(ctx.revision);
    const revision = ctx.bump();
    this.set({ ...existing, role: 'voter' });
    return okResult(revision);
  }

  private remove(command: MembersRemove, ctx: ApplyContext): ApplyResult {
    const existing = this.records.get(command.id);
    if (existing === undefined) return failure('NOT_FOUND', `member "${command.id}" does not exist`);
    const revision = ctx.bump();
    this.records.delete(command.id);
    this.sorted = null;
    this.rememberRemoval(command.id);
    if (existing.incarnation !== '') this.tombstone(existing.incarnation);
    return okResult(revision);
  }

  private tombstone(incarnation: string): void {
    if (this.removedSet.has(incarnation)) return;
    this.removed.push(incarnation);
    this.removedSet.add(incarnation);
    while (this.removed.length > MAX_REMOVED_INCARNATIONS) this.removedSet.delete(this.removed.shift()!);
  }

  /** Identity records are not resources: they change no revision. */
  private establish(command: MembersEstablish, ctx: ApplyContext): ApplyResult {
    if (this.cluster !== null) {
      return failure('CONFLICT', `the cluster already has the id ${this.cluster}; ${command.clusterId} is not used`);
    }
    this.cluster = command.clusterId;
    for (const { id, incarnation } of command.incarnations) {
      const existing = this.records.get(id);
      if (existing !== undefined && existing.incarnation === '' && !this.removedSet.has(incarnation)) this.set({ ...existing, incarnation });
    }
    return okResult(ctx.revision);
  }

  private recordIncarnation(command: MembersRecordIncarnation, ctx: ApplyContext): ApplyResult {
    const existing = this.records.get(command.id);
    if (existing === undefined) return failure('NOT_FOUND', `member "${command.id}" does not exist`);
    if (existing.incarnation === command.incarnation) return okResult(ctx.revision);
    if (existing.incarnation !== '') {
      return failure(
        'CONFLICT',
        `member "${command.id}" runs as incarnation ${existing.incarnation}; ${command.incarnation} is another data dir and is not recorded`,
      );
    }
    if (this.removedSet.has(command.incarnation)) {
      return failure('CONFLICT', `incarnation ${command.incarnation} belonged to a removed member and is not recorded`);
    }
    this.set({ ...existing, incarnation: command.incarnation });
    return okResult(ctx.revision);
  }

  private setStatus(command: MembersSetStatus, ctx: ApplyContext): ApplyResult {
    const existing = this.records.get(command.id);
    if (existing === undefined) return failure('NOT_FOUND', `member "${command.id}" does not exist`);
    // A deposed leader's late proposal must not overwrite what a newer leader decided.
    if (command.term < existing.statusTerm) {
      return failure(
        'IGNORED',
        `status of "${command.id}" was decided in term ${existing.statusTerm}; ignoring a decision from term ${command.term}`,
      );
    }
    const change: StatusChange = { changed: command.status !== existing.status, from: existing.status, to: command.status };
    // A health record: it changes what `list controllers` shows, never the cluster revision,
    // which counts changes of resources (keys, services, routes).
    if (!change.changed) {
      if (command.term === existing.statusTerm) return okResult(ctx.revision, change);
      // Same status confirmed by a newer leader: raise the term so older decisions stay fenced
      // off, but keep statusSince and the reason, which describe when and why it began.
      this.set({ ...existing, statusTerm: command.term });
      if (existing.statusTerm === 0) {
        this.statusLog.addMade((seq) => ({ seq, id: existing.id, from: 'unknown', to: existing.status, reason: existing.statusReason, observedAt: existing.statusObservedAt, mark: `${existing.statusSince}.1` }));
      }
      return okResult(ctx.revision, change);
    }
    this.set({
      ...existing,
      status: command.status,
      statusSince: ctx.index,
      statusReason: command.reason,
      statusTerm: command.term,
      statusObservedAt: command.observedAt,
    });
    const from = existing.statusTerm === 0 ? 'unknown' : existing.status;
    this.statusLog.addMade((seq) => ({ seq, id: existing.id, from, to: command.status, reason: command.reason, observedAt: command.observedAt, mark: `${ctx.index}.1` }));
    return okResult(ctx.revision, change);
  }

  private set(record: MemberRecord): void {
    if (!this.records.has(record.id)) this.sorted = null;
    else if (this.sorted !== null) this.sorted = this.sorted.map((r) => (r.id === record.id ? record : r));
    this.records.set(record.id, record);
  }

  /** `{ clusterId, members, removed, removedIds }`; a bare array of members (before identities) still restores. */
  snapshot(): unknown {
    return { clusterId: this.cluster, members: this.snapshotRecords(), removed: [...this.removed], removedIds: [...this.removedIds] };
  }

  private snapshotRecords(): unknown {
    // Fields written in a fixed order so equal tables give equal bytes.
    return this.list().map((r) => ({
      id: r.id,
      address: r.address,
      role: r.role,
      status: r.status,
      statusSince: r.statusSince,
      statusReason: r.statusReason,
      statusTerm: r.statusTerm,
      statusObservedAt: r.statusObservedAt,
      autoPromote: r.autoPromote,
      incarnation: r.incarnation,
    }));
  }

  restore(data: unknown): void {
    if (Array.isArray(data)) {
      this.restoreRecords(data);
      return;
    }
    const f: Fields = Fields.of(data, 'members', (m) => new SnapshotError(m)).only(new Set(['clusterId', 'members', 'removed', 'removedIds']));
    const clusterId = f.raw['clusterId'];
    if (clusterId !== null && (typeof clusterId !== 'string' || !IDENTITY_PATTERN.test(clusterId))) {
      f.fail('field "clusterId" must be null or 16 lowercase hex digits');
    }
    const records = f.raw['members'];
    if (!Array.isArray(records)) f.fail('field "members" must be an array');
    const removed = f.array('removed', MAX_REMOVED_INCARNATIONS);
    // Absent in snapshots from before removed ids were kept.
    const removedIds = f.has('removedIds') ? f.strings('removedIds', MAX_REMOVED_IDS) : [];
    this.restoreRecords(records as readonly unknown[]);
    this.cluster = clusterId as string | null;
    for (const [i, r] of removed.entries()) {
      if (typeof r !== 'string' || !IDENTITY_PATTERN.test(r)) f.fail(`removed[${i}] must be 16 lowercase hex digits`);
      this.tombstone(r);
    }
    for (const id of removedIds) {
      if (id === '' || Buffer.byteLength(id, 'utf8') > MAX_MEMBER_ID_BYTES) f.fail('field "removedIds" holds an invalid member id');
      if (this.records.has(id)) f.fail(`field "removedIds" names ${JSON.stringify(id)}, which is a member`);
      this.rememberRemoval(id);
    }
  }

  private restoreRecords(data: readonly unknown[]): void {
    let previous: string | null = null;
    for (const [i, item] of data.entries()) {
      const f = Fields.of(item, `members: record ${i}`, (m) => new SnapshotError(m)).only(RECORD_FIELDS);
      const record: MemberRecord = {
        id: f.string('id', ID_RULE),
        address: f.string('address', ADDRESS_RULE),
        role: f.oneOf('role', ROLES),
        status: f.oneOf('status', STATUSES),
        statusSince: f.int('statusSince', { min: 0 }),
        statusReason: f.string('statusReason', REASON_RULE),
        statusTerm: f.int('statusTerm', { min: 0 }),
        statusObservedAt: f.finite('statusObservedAt'),
        // Absent in snapshots from before the intent existed.
        autoPromote: f.has('autoPromote') ? f.boolean('autoPromote') : false,
        incarnation: f.has('incarnation') ? f.string('incarnation') : '',
      };
      if (record.incarnation !== '' && !IDENTITY_PATTERN.test(record.incarnation)) f.fail('field "incarnation" must be empty or 16 lowercase hex digits');
      if (previous !== null && !(previous < record.id)) f.fail(`ids must be strictly increasing, found "${record.id}" after "${previous}"`);
      previous = record.id;
      this.set(record);
    }
  }
}

const RECORD_FIELDS = new Set([
  'id',
  'address',
  'role',
  'status',
  'statusSince',
  'statusReason',
  'statusTerm',
  'statusObservedAt',
  'autoPromote',
  'incarnation',
]);

function initialStatus(
  status: MemberStatus,
  reason: string,
  index: number,
): Pick<MemberRecord, 'status' | 'statusSince' | 'statusReason' | 'statusTerm' | 'statusObservedAt'> {
  return { status, statusSince: index, statusReason: reason, statusTerm: 0, statusObservedAt: 0 };
}

export const membersKind: ResourceKind<MembersCommand, MembersView> = {
  name: MEMBERS_KIND,
  parse: parseMembers,
  create: () => new MembersStore(),
};
