/**
 * A server's answers are untrusted input: each is decoded field by field into the JSON shape
 * the contract gives it (`ctl -o json`), and a mismatch is a server bug, reported as INTERNAL
 * with what was expected and found.
 */
import { SHOWN_STATUSES } from '../membership/types.js';
import { Fields } from '../util/untrusted.js';
import { CONTROLLER_ROLES, type ControllerRole, type ControllersView, type ControllerStatus } from './controller-rows.js';
import { ApiError } from './errors.js';

export interface StatusJson {
  readonly id: string;
  readonly cluster: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly version: string;
  /** '' before the cluster's first leader drew it. */
  readonly clusterId: string;
  /** A leader holding entries its commit index does not reach, for so long (ms); 0 otherwise. */
  readonly commitStallMs: number;
  /** Past the server's limit: the leader is stuck (ctl health fails). */
  readonly commitStalled: boolean;
  /** The answering node cannot vouch for its view: no quorum heard within an election timeout, or no leader for three (MembershipEngine.view). */
  readonly stale: boolean;
  readonly staleReason: string;
  /** The committed cluster version (`MAJOR.MINOR`); null from a server that predates it. */
  readonly clusterVersion: string | null;
}

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

/**
 * `ctl kv get -o json`: the value as UTF-8 text, or, when it is not valid UTF-8, as base64 in
 * `valueBase64` instead (the contract's two forms).
 */
export type KvJson =
  | { readonly key: string; readonly value: string; readonly revision: number }
  | { readonly key: string; readonly valueBase64: string; readonly revision: number };

export interface MembersJson {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  /** The change was already in effect; nothing was written. */
  readonly unchanged: boolean;
  /** What the operator should know or do next ('' when nothing). */
  readonly detail: string;
}

export interface AuditEventJson {
  readonly time: string;
  readonly node: string;
  readonly type: string;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** A note on the Audit stream: the answering controller's trail lacks `count` events it could not write. */
export interface AuditDroppedJson {
  readonly node: string;
  readonly count: number;
  /** ISO times of the first and the latest lost. */
  readonly first: string;
  readonly last: string;
  readonly cause: string;
}

/** One message of the Audit stream: an event, or a note (from servers asked for notes). */
export type AuditMessageJson = { readonly kind: 'event'; readonly event: AuditEventJson } | { readonly kind: 'dropped'; readonly dropped: AuditDroppedJson };

/** One answer, named by its proto message in errors. */
function answer(raw: unknown, message: string): Fields {
  return Fields.of(raw, message, (text) => new ApiError('INTERNAL', `unexpected answer from the server: ${text}`));
}

/** A row as the wire carries it (ControllerStatusWire), back to the contract's JSON. */
export function decodeController(raw: unknown): ControllerStatus {
  return decodeRow(raw, undefined);
}

function decodeRow(raw: unknown, view: { readonly answeredBy: string; readonly stale: boolean } | undefined): ControllerStatus {
  const f = answer(raw, 'ControllerStatus');
  const lastContactMs = f.number('lastContactMs');
  // Absent from older servers: they had no such rows.
  const neverHeard = f.has('neverHeard') ? f.boolean('neverHeard') : false;
  const version = f.string('version');
  // Built key by key so JSON.stringify keeps the contract's order.
  return {
    id: f.string('id'),
    address: f.string('address'),
    online: f.boolean('online'),
    localState: f.oneOf('localState', SHOWN_STATUSES),
    clusterState: f.oneOf('clusterState', SHOWN_STATUSES),
    leader: f.boolean('leader'),
    voter: f.boolean('voter'),
    lastContactMs: neverHeard ? null : lastContactMs,
    heartbeatTimeoutMs: f.number('heartbeatTimeoutMs'),
    rttP50Ms: f.number('rttP50Ms'),
    rttP99Ms: f.number('rttP99Ms'),
    appliedIndex: f.number('appliedIndex'),
    lagEntries: f.number('lagEntries'),
    version: version === '' ? null : version,
    // An older server says these once for the whole answer ('' and false in each row).
    answeredBy: (f.has('answeredBy') ? f.string('answeredBy') : '') || (view?.answeredBy ?? ''),
    stale: (f.has('stale') && f.boolean('stale')) || (view?.stale ?? false),
    role: roleField(f),
    // Absent from older servers: they did not tell.
    duplicateProcess: f.has('duplicateProcess') && f.boolean('duplicateProcess'),
  };
}

/** A server from before `role` sends ''; its role then follows from the two flags. */
function roleField(f: Fields): ControllerRole {
  if (!f.has('role') || f.string('role') === '') return f.boolean('leader') ? 'leader' : f.boolean('voter') ? 'follower' : 'learner';
  return f.oneOf('role', CONTROLLER_ROLES);
}

export function decodeControllersView(raw: unknown): ControllersView {
  const f = answer(raw, 'ListControllersResponse');
  const stale = f.boolean('stale');
  const answeredBy = f.string('answeredBy');
  return {
    // Rows of a server that did not put them in each row carry the answer's.
    controllers: f.array('controllers').map((row) => decodeRow(row, { answeredBy, stale })),
    stale,
    answeredBy,
    staleReason: f.string('staleReason'),
    // Absent from older servers: they did not tell.
    otherClusters: f.has('otherClusters') ? f.string('otherClusters') : '',
  };
}

export function decodeStatus(raw: unknown): StatusJson {
  const f = answer(raw, 'StatusResponse');
  // Absent or '' from older servers (proto3 has no null).
  const clusterVersion = f.has('clusterVersion') ? f.string('clusterVersion') : '';
  return {
    id: f.string('id'),
    cluster: f.string('cluster'),
    role: f.string('role'),
    term: f.number('term'),
    leader: f.string('leader'),
    commitIndex: f.number('commitIndex'),
    appliedIndex: f.number('appliedIndex'),
    lastIndex: f.number('lastIndex'),
    firstIndex: f.number('firstIndex'),
    snapshotIndex: f.number('snapshotIndex'),
    voters: f.strings('voters'),
    learners: f.strings('learners'),
    version: f.string('version'),
    clusterId: f.raw['clusterId'] === undefined ? '' : f.string('clusterId'),
    commitStallMs: f.raw['commitStallMs'] === undefined ? 0 : f.number('commitStallMs'),
    commitStalled: f.raw['commitStalled'] === true,
    stale: f.boolean('stale'),
    staleReason: f.string('staleReason'),
    clusterVersion: clusterVersion === '' ? null : clusterVersion,
  };
}

export function decodeKv(raw: unknown): KvEntry {
  const f = answer(raw, 'GetResponse');
  return { key: f.string('key'), value: f.bytes('value'), revision: f.number('revision') };
}

/** A Put's or a Delete's answer (and a KvSession answer to either). */
export function decodeRevision(raw: unknown, message: 'PutResponse' | 'DeleteResponse'): { revision: number } {
  return { revision: answer(raw, message).number('revision') };
}

export function decodeMembers(raw: unknown): MembersJson {
  const f = answer(raw, 'MemberResponse');
  // Absent from servers that predate them: the change was made, nothing more to say.
  return {
    voters: f.strings('voters'),
    learners: f.strings('learners'),
    unchanged: f.has('unchanged') ? f.boolean('unchanged') : false,
    detail: f.has('detail') ? f.string('detail') : '',
  };
}

/** `unchanged`: the target already led. Absent from older servers: they said nothing of it. */
export function decodeLeaderTransfer(raw: unknown): { leader: string; unchanged: boolean } {
  const f = answer(raw, 'LeaderTransferResponse');
  return { leader: f.string('leader'), unchanged: f.has('unchanged') ? f.boolean('unchanged') : false };
}

/** An event or a note: a message with `dropped` set is a note (older servers never set it). */
export function decodeAuditMessage(raw: unknown): AuditMessageJson {
  const f = answer(raw, 'AuditEvent');
  const dropped = f.raw['dropped'];
  if (dropped === undefined || dropped === null) return { kind: 'event', event: decodeAuditEvent(raw) };
  const d = answer(dropped, 'AuditEvent.dropped');
  return {
    kind: 'dropped',
    dropped: { node: d.string('node'), count: d.int('count', { min: 0 }), first: d.string('first'), last: d.string('last'), cause: d.string('cause') },
  };
}

export function decodeAuditEvent(raw: unknown): AuditEventJson {
  const f = answer(raw, 'AuditEvent');
  return {
    time: f.string('time'),
    node: f.string('node'),
    type: f.string('type'),
    subject: f.string('subject'),
    from: f.string('from'),
    to: f.string('to'),
    reason: f.string('reason'),
  };
}

/** One row of `ctl config get -o json`. */
export interface SettingJson {
  readonly key: string;
  readonly value: string;
  readonly default: string;
  readonly help: string;
}

export interface ConfigJson {
  readonly settings: readonly SettingJson[];
  /** false: no leader has written the settings yet; the values shown are the built-in defaults. */
  readonly initialized: boolean;
  readonly answeredBy: string;
}

export function decodeConfig(raw: unknown): ConfigJson {
  const f = answer(raw, 'ConfigGetResponse');
  const settings = f.array('settings', 1_000).map((item, i) => {
    const s = answer(item, `ConfigGetResponse.settings[${i}]`);
    return { key: s.string('key'), value: s.string('value'), default: s.string('defaultValue'), help: s.string('help') };
  });
  return { settings, initialized: f.boolean('initialized'), answeredBy: f.string('answeredBy') };
}

export interface ConfigSetJson {
  readonly key: string;
  readonly value: string;
  readonly changed: boolean;
}

export function decodeConfigSet(raw: unknown): ConfigSetJson {
  const f = answer(raw, 'ConfigSetResponse');
  return { key: f.string('key'), value: f.string('value'), changed: f.boolean('changed') };
}
