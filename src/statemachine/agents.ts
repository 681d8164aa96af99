/**
 * The agents kind: one record per agent id, written by batched reports from the controllers
 * that serve agents (src/agents/report-batch.ts). Nothing here advances the cluster revision:
 * these are health and acknowledgement records, not configuration.
 *
 * Rules:
 * - a `connect` claims the agent for the reporting controller and its stream (session), unless
 *   the record already holds a newer connection of the same agent process (higher epoch seq);
 * - `sync` and `disconnect` change status and versions only while their session owns the
 *   record: a controller the agent has left cannot take it offline behind its new controller;
 * - `pushes` counts every configuration message any controller sent, whatever the session.
 *
 * Committed status changes and NACKs are kept in a short in-memory log (transitionsSince) so
 * every node can audit each of them once; the log is derived, not part of the snapshot.
 *
 * Every controller holds every record, so their size counts once per controller
 * (docs/benchmarks.md, "Agents"): records are built by one function with a fixed field order
 * (one hidden class, fields inside the object; a spread copy has neither), and the lists and
 * strings that most agents share (protocols, empty lists, "connected to <controller>") are
 * shared, not held once per record.
 */
import { CommandError, SnapshotError } from './errors.js';
import { Fields, type ErrorFactory } from '../util/untrusted.js';
import {
  MAX_AGENT_REASON_BYTES,
  MAX_SESSION_BYTES,
  parseAgentId,
  parseAgentInfo,
  parseEpoch,
  parseReportEntry,
  parseSyncFields,
  type AgentInfo,
  type AgentRecord,
  type AgentReportEntry,
  type AgentSyncFields,
  type ConnectEntry,
  type DisconnectEntry,
  type ForgetEntry,
  type SyncEntry,
} from './agent-records.js';
import { recordJson, recordJsonLength, recordLengthChange, tableJsonLength } from './agent-record-json.js';
import { CLAIM_ORDER_VERSION, FORGET_AGENTS_VERSION, SUPERSEDED_PROCESS_VERSION, UNORDERED_CLAIM_VERSION, clusterKind } from './cluster-version.js';
import { ClaimOpenings, claimBeforeHolder, type ClaimOpening } from './claim-openings.js';
import { MAX_MEMBER_ID_BYTES as NODE_ID_MAX_BYTES } from './members.js';
import { commandFields, type ApplyContext, type KindInstance, type ResourceKind } from './resource-kind.js';
import { okResult, type ApplyResult } from './result.js';
import { SharedValues } from './shared-values.js';
import { SupersededBoots } from './superseded-boots.js';
import { TransitionLog } from './transition-log.js';
import { valuePieces, type SnapshotPieces } from './snapshot-job.js';
import { bound } from './sorted-keys.js';
import { markParsed } from './parsed-commands.js';

export const AGENTS_KIND = 'agents';
/** Records the cluster keeps; a connect for a new id beyond this is ignored (and counted). */
export const MAX_AGENT_RECORDS = 100_000;
export const MAX_REPORT_ENTRIES = 10_000;
/** Committed transitions kept for observers; a reader further behind is told it missed some. */
export const TRANSITION_LOG_SIZE = 8_192;

export interface AgentsReport {
  readonly kind: 'agents';
  readonly op: 'report';
  /** The controller that sends the report; a connect claims the agent for it. */
  readonly controller: string;
  readonly entries: readonly AgentReportEntry[];
}

export type AgentsCommand = AgentsReport;

/** The `value` of a report result. */
export interface AgentsReportOutcome {
  readonly applied: number;
  /** Entries that changed nothing: another stream owns the record, a stale claim, the table is full, or a forget of a record online again. */
  readonly ignored: number;
}

export type AgentTransition =
  | { readonly seq: number; readonly type: 'claim'; readonly id: string; readonly session: string; readonly controller: string }
  | { readonly seq: number; readonly type: 'status'; readonly id: string; readonly from: 'online' | 'offline' | null; readonly to: 'online' | 'offline'; readonly controller: string; readonly reason: string }
  | { readonly seq: number; readonly type: 'nack'; readonly id: string; readonly ackedVersion: number | null; readonly nackedVersion: number; readonly controller: string; readonly error: string }
  | { readonly seq: number; readonly type: 'forgotten'; readonly id: string; readonly controller: string; readonly reason: string };

export interface AgentsView {
  /** All records sorted by id. */
  list(): readonly AgentRecord[];
  get(id: string): AgentRecord | null;
  /** Committed transitions after `seq`; `missed` when some were dropped from the log (or lost with a snapshot install). */
  transitionsSince(seq: number): { readonly items: readonly AgentTransition[]; readonly missed: boolean };
  /** The seq of the latest transition. */
  readonly transitionSeq: number;
  readonly size: number;
  /** The boot id of the agent's process a claim by another process replaced, whose claims lose while the agent is online (superseded-boots.ts); null: none. */
  supersededBoot(id: string): string | null;
  /** When the stream of the claim the agent's record holds was admitted (claim-openings.ts); null: not known. */
  claimOpened(id: string): number | null;
  /** That claim's admission and the transition seq once it applied (claim-openings.ts); null: not known. */
  claimOpening(id: string): ClaimOpening | null;
}

const REPORT_FIELDS = commandFields('op', 'controller', 'entries');

/** The claim rules in force at an entry, by the cluster version. */
interface ClaimFences {
  readonly superseded: boolean;
  readonly order: boolean;
  /** A claim that says nothing of its admission loses to one that does (UNORDERED_CLAIM_VERSION). */
  readonly unordered: boolean;
}

function parseAgents(fields: Fields): AgentsCommand {
  fields.oneOf('op', ['report'] as const);
  fields.only(REPORT_FIELDS);
  const controller = fields.string('controller', { nonEmpty: true, maxBytes: NODE_ID_MAX_BYTES });
  const seen = new Set<string>();
  const entries = fields.array('entries', MAX_REPORT_ENTRIES).map((item, i) => {
    const e = parseReportEntry(item, () => `command.entries[${i}]`);
    if (seen.has(e.id)) fields.fail(`agent ${JSON.stringify(e.id)} appears twice in one report`);
    seen.add(e.id);
    return e;
  });
  return { kind: 'agents', op: 'report', controller, entries };
}

export class AgentsStore implements KindInstance<AgentsCommand, AgentsView>, AgentsView {
  private readonly records = new Map<string, AgentRecord>();
  /**
   * The ids in order, sorted again only when an id comes or goes, and the records in that order.
   * Nearly every change replaces a record (an ACK, a claim): the listing then takes the
   * replaced ones in at their places instead of sorting every record again, which cost the hub's
   * periodic duties 24-28 ms a listing with 50,000 agents.
   */
  private sortedIds: readonly string[] | null = [];
  private sorted: readonly AgentRecord[] = [];
  /** Ids whose record was replaced since `sorted` was listed (while sortedIds holds). */
  private readonly replaced = new Set<string>();
  private readonly log = new TransitionLog<AgentTransition>(TRANSITION_LOG_SIZE);
  private readonly shared = new SharedValues();
  private readonly superseded = new SupersededBoots();
  private readonly openings = new ClaimOpenings();
  /**
   * The records' JSON lengths summed (recordJsonLength), kept as records are set and forgotten,
   * so controller.quota_bytes reads the kind's size instead of serializing it every 5 s.
   */
  private recordsLength = 0;

  get view(): AgentsView {
    return this;
  }

  get size(): number {
    return this.records.size;
  }

  get transitionSeq(): number {
    return this.log.seq;
  }

  list(): readonly AgentRecord[] {
    if (this.sortedIds === null || this.replaced.size > this.records.size / 4) {
      // Default sort compares UTF-16 code units, as `<` does.
      const ids = (this.sortedIds ??= [...this.records.keys()].sort());
      this.sorted = ids.map((id) => this.records.get(id)!);
    } else if (this.replaced.size > 0) {
      const next = this.sorted.slice();
      for (const id of this.replaced) {
        const at = bound(this.sortedIds, id, false);
        if (this.sortedIds[at] !== id) throw new Error(`invariant: agent ${JSON.stringify(id)} is not among the sorted ids`);
        next[at] = this.records.get(id)!;
      }
      this.sorted = next;
    }
    this.replaced.clear();
    return this.sorted;
  }

  get(id: string): AgentRecord | null {
    return this.records.get(id) ?? null;
  }

  supersededBoot(id: string): string | null {
    return this.superseded.get(id);
  }

  claimOpened(id: string): number | null {
    return this.openings.get(id)?.at ?? null;
  }

  claimOpening(id: string): ClaimOpening | null {
    return this.openings.get(id);
  }

  transitionsSince(seq: number): { readonly items: readonly AgentTransition[]; readonly missed: boolean } {
    return this.log.since(seq);
  }

  apply(command: AgentsCommand, ctx: ApplyContext): ApplyResult {
    // Forgetting is refused below its cluster version (an older member could not apply it alike).
    const cluster = ctx.read(clusterKind);
    const mayForget = cluster.supports(FORGET_AGENTS_VERSION);
    const fences: ClaimFences = { superseded: cluster.supports(SUPERSEDED_PROCESS_VERSION), order: cluster.supports(CLAIM_ORDER_VERSION), unordered: cluster.supports(UNORDERED_CLAIM_VERSION) };
    let applied = 0;
    for (const e of command.entries) if ((e.op !== 'forget' || mayForget) && this.applyEntry(command.controller, e, fences)) applied++;
    const outcome: AgentsReportOutcome = { applied, ignored: command.entries.length - applied };
    // No ctx.bump(): acknowledgements and health records never advance the cluster revision.
    return okResult(ctx.revision, outcome);
  }

  private applyEntry(controller: string, e: AgentReportEntry, fences: ClaimFences): boolean {
    switch (e.op) {
      case 'connect':
        return this.connect(this.shared.string(controller), e, fences);
      case 'sync':
        return this.sync(e);
      case 'disconnect':
        return this.disconnect(e);
      case 'forget':
        return this.forgetRecord(controller, e);
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  /**
   * `fences.superseded`: at SUPERSEDED_PROCESS_VERSION, the process a claim of another replaced
   * loses while the agent is online; `fences.order`: at CLAIM_ORDER_VERSION, so does another
   * process's claim whose stream was admitted before the holder's; `fences.unordered`: at
   * UNORDERED_CLAIM_VERSION, also one that does not say when (claim-openings.ts).
   */
  private connect(controller: string, e: ConnectEntry, fences: ClaimFences): boolean {
    const rec = this.records.get(e.id);
    if (rec === undefined && this.records.size >= MAX_AGENT_RECORDS) return false;
    const older = rec !== undefined && rec.epoch.boot === e.epoch.boot && e.epoch.seq < rec.epoch.seq;
    const superseded = fences.superseded && rec?.online === true && this.superseded.get(e.id) === e.epoch.boot;
    const holder = this.openings.get(e.id);
    // Admitted before the holder's stream (claim-openings.ts): it loses while the agent is online.
    const earlier = fences.order && claimBeforeHolder(e.opened, e.seen, holder, fences.unordered);
    const admittedBefore = earlier && rec?.online === true && rec.epoch.boot !== e.epoch.boot;
    if (older || superseded || admittedBefore) {
      this.set(changed(rec!, { pushes: rec!.pushes + e.pushes }));
      return false;
    }
    // A claim of a stream admitted before the holder's (taking the agent while it is offline) does not
    // make the holder's process one this replaced: that one is the newer, and may claim again.
    if (fences.superseded && rec !== undefined && rec.epoch.boot !== e.epoch.boot && !earlier) this.superseded.set(e.id, rec.epoch.boot);
    const reason = this.shared.string(`connected to ${controller}`);
    const next = makeRecord({
      id: e.id,
      online: true,
      controller,
      session: e.session,
      epoch: e.epoch,
      statusReason: rec?.online === true ? rec.statusReason : reason,
      pushes: (rec?.pushes ?? 0) + e.pushes,
      timeoutMs: e.timeoutMs,
      info: this.shared.info(e.info),
      sync: e.sync,
    });
    this.set(next);
    this.log.addMade((seq) => ({ seq, type: 'claim', id: next.id, session: next.session, controller }));
    if (rec?.online !== true) this.log.addMade((seq) => ({ seq, type: 'status', id: next.id, from: rec === undefined ? null : 'offline', to: 'online', controller, reason }));
    // Only claims that say when their stream was admitted are ordered by it (one proposed before
    // the raise is not); a controller that has applied this entry has seen at least `since`.
    if (fences.order && e.opened !== undefined) this.openings.set(e.id, e.opened, this.log.seq);
    else this.openings.delete(e.id);
    this.noteNack(rec ?? null, next);
    return true;
  }

  private sync(e: SyncEntry): boolean {
    const rec = this.records.get(e.id);
    if (rec === undefined) return false;
    if (rec.session !== e.session) {
      if (e.pushes > 0) this.set(changed(rec, { pushes: rec.pushes + e.pushes }));
      return false;
    }
    const next = changed(rec, { sync: e.sync, timeoutMs: e.timeoutMs, pushes: rec.pushes + e.pushes });
    this.set(next);
    this.noteNack(rec, next);
    return true;
  }

  private disconnect(e: DisconnectEntry): boolean {
    const rec = this.records.get(e.id);
    if (rec === undefined) return false;
    const owns = rec.session === e.session && rec.online;
    this.set(changed(rec, owns ? { pushes: rec.pushes + e.pushes, online: false, statusReason: e.reason } : { pushes: rec.pushes + e.pushes }));
    if (owns) this.log.addMade((seq) => ({ seq, type: 'status', id: rec.id, from: 'online', to: 'offline', controller: rec.controller, reason: e.reason }));
    return owns;
  }

  /** Only an offline record, still on the stream the forget names: a reconnect since wins. */
  private forgetRecord(controller: string, e: ForgetEntry): boolean {
    const rec = this.records.get(e.id);
    if (rec === undefined || rec.online || rec.session !== e.session) return false;
    this.sortedIds = null;
    this.records.delete(e.id);
    this.superseded.delete(e.id);
    this.openings.delete(e.id);
    this.recordsLength -= recordJsonLength(rec);
    this.log.addMade((seq) => ({ seq, type: 'forgotten', id: e.id, controller, reason: e.reason }));
    return true;
  }

  private noteNack(before: AgentRecord | null, after: AgentRecord): void {
    if (after.nackedVersion === null || after.lastError === null) return;
    if (before !== null && before.nackedVersion === after.nackedVersion && before.lastError === after.lastError) return;
    const error = after.lastError;
    const nackedVersion = after.nackedVersion;
    this.log.addMade((seq) => ({ seq, type: 'nack', id: after.id, ackedVersion: after.ackedVersion, nackedVersion, controller: after.controller, error }));
  }

  private set(record: AgentRecord): void {
    const old = this.records.get(record.id);
    if (old === undefined) this.sortedIds = null;
    else if (this.sortedIds !== null) this.replaced.add(record.id);
    this.records.set(record.id, record);
    this.recordsLength += old === undefined ? recordJsonLength(record) : recordLengthChange(old, record);
  }

  snapshot(): unknown {
    const superseded = this.superseded.snapshot();
    const opened = this.openings.snapshot();
    return {
      transitionSeq: this.log.seq,
      records: this.list().map(recordJson),
      ...(superseded === undefined ? {} : { superseded }),
      ...(opened === undefined ? {} : { opened }),
    };
  }

  /** `JSON.stringify(snapshot()).length`, kept as records change. */
  snapshotLength(): number {
    return tableJsonLength(this.log.seq, this.records.size, this.recordsLength) + this.superseded.snapshotLength() + this.openings.snapshotLength();
  }

  /** A record is replaced on every change, never changed, so the listed records are the state now. */
  snapshotPieces(): SnapshotPieces {
    return valuePieces(this.snapshot(), this.snapshotLength());
  }

  restore(data: unknown): void {
    const makeError: ErrorFactory = (m) => new SnapshotError(m);
    const f = Fields.of(data, 'agents', makeError).only(new Set(['transitionSeq', 'records', 'superseded', 'opened']));
    this.log.reset(f.int('transitionSeq', { min: 0 }));
    let previous: string | null = null;
    for (const [i, item] of f.array('records', MAX_AGENT_RECORDS).entries()) {
      const r = parseRecord(item, `agents: record ${i}`, makeError, this.shared);
      if (previous !== null && !(previous < r.id)) f.fail(`ids must be strictly increasing, found ${JSON.stringify(r.id)} after ${JSON.stringify(previous)}`);
      previous = r.id;
      this.set(r);
    }
    this.superseded.restore(f.raw['superseded'], (id) => this.records.has(id), makeError);
    this.openings.restore(f.raw['opened'], (id) => this.records.has(id), this.log.seq, makeError);
    this.sortedIds = null;
  }
}

/** What a record is made of (its own fields, its declaration, its sync state); makeRecord lays it out. */
type RecordParts = Omit<AgentRecord, keyof AgentInfo | keyof AgentSyncFields> & { readonly info: AgentInfo; readonly sync: AgentSyncFields };

/** Every record with the same fields in the same order: one hidden class, every field in the object. */
function makeRecord(p: RecordParts): AgentRecord {
  return {
    id: p.id,
    online: p.online,
    controller: p.controller,
    session: p.session,
    epoch: p.epoch,
    statusReason: p.statusReason,
    pushes: p.pushes,
    timeoutMs: p.timeoutMs,
    protocols: p.info.protocols,
    lazy: p.info.lazy,
    dependencies: p.info.dependencies,
    hosts: p.info.hosts,
    sentVersion: p.sync.sentVersion,
    ackedVersion: p.sync.ackedVersion,
    nackedVersion: p.sync.nackedVersion,
    lastError: p.sync.lastError,
    resources: p.sync.resources,
  };
}

/** `rec` with some parts changed (its own strings and lists kept, not the report's copies). */
function changed(rec: AgentRecord, parts: Partial<RecordParts>): AgentRecord {
  return makeRecord({
    id: rec.id,
    online: parts.online ?? rec.online,
    controller: rec.controller,
    session: rec.session,
    epoch: rec.epoch,
    statusReason: parts.statusReason ?? rec.statusReason,
    pushes: parts.pushes ?? rec.pushes,
    timeoutMs: parts.timeoutMs ?? rec.timeoutMs,
    info: rec,
    sync: parts.sync ?? rec,
  });
}

const RECORD_FIELDS = new Set([
  'id',
  'online',
  'controller',
  'session',
  'epoch',
  'statusReason',
  'pushes',
  'timeoutMs',
  'info',
  'sync',
]);

function parseRecord(item: unknown, where: string, makeError: ErrorFactory, shared: SharedValues): AgentRecord {
  const f = Fields.of(item, where, makeError).only(RECORD_FIELDS);
  return makeRecord({
    id: parseAgentId(f, 'id'),
    online: f.boolean('online'),
    controller: shared.string(f.string('controller', { nonEmpty: true, maxBytes: NODE_ID_MAX_BYTES })),
    session: f.string('session', { nonEmpty: true, maxBytes: MAX_SESSION_BYTES }),
    epoch: parseEpoch(f.raw['epoch'], `${where}.epoch`, makeError),
    statusReason: shared.string(f.string('statusReason', { maxBytes: MAX_AGENT_REASON_BYTES })),
    pushes: f.int('pushes', { min: 0 }),
    timeoutMs: f.int('timeoutMs', { min: 0 }),
    info: shared.info(parseAgentInfo(f.raw['info'], `${where}.info`, makeError)),
    sync: parseSyncFields(f.raw['sync'], `${where}.sync`, makeError),
  });
}

export const agentsKind: ResourceKind<AgentsCommand, AgentsView> = {
  name: AGENTS_KIND,
  parse: parseAgents,
  create: () => new AgentsStore(),
  // Its output is built of fresh objects holding strings, safe integers, null, booleans and
  // sorted lists of distinct strings, each of which JSON gives back as it was (-0 aside: encodeParsed
  // looks for it), and parsing that again passes the same checks and builds the same (sorted lists stay sorted).
  parsesAsJsonGivesBack: true,
};

/** For the API layer: validate entries before proposing (the same checks apply runs). */
export function validateReport(controller: string, entries: readonly unknown[]): AgentsReport {
  if (entries.length > MAX_REPORT_ENTRIES) throw new CommandError(`a report holds at most ${MAX_REPORT_ENTRIES} entries, found ${entries.length}`);
  return markParsed(parseAgents(Fields.of({ kind: AGENTS_KIND, op: 'report', controller, entries }, 'command', (m) => new CommandError(m))));
}
