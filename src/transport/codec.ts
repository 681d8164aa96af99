/**
 * Converts Raft messages to and from the flat wire form of proto/peer.proto.
 *
 * Decoding is the trust boundary: whatever a peer sends is checked field by field before the
 * Raft core sees it, and only the fields a message type uses are copied. A snapshot's data is
 * not part of the envelope; it travels in InstallSnapshot chunks (see snapshot-stream.ts).
 */
import type { Message, MessageType } from '../raft/messages.js';
import type { ConfState, Entry, EntryKind, SnapshotMeta } from '../raft/types.js';
import { raftNumberProblem } from '../limits/raft-numbers.js';
import { describe, isRecord, type JsonRecord as Raw } from '../util/untrusted.js';
import { ProtocolError } from './errors.js';

export type ProtoMessageType =
  | 'PRE_VOTE'
  | 'PRE_VOTE_RESP'
  | 'VOTE'
  | 'VOTE_RESP'
  | 'APPEND'
  | 'APPEND_RESP'
  | 'HEARTBEAT'
  | 'HEARTBEAT_RESP'
  | 'INSTALL_SNAPSHOT'
  | 'TIMEOUT_NOW'
  | 'READ_INDEX'
  | 'READ_INDEX_RESP';

export type ProtoEntryKind = 'ENTRY_NORMAL' | 'ENTRY_NOOP' | 'ENTRY_CONF';

export interface ProtoEntry {
  readonly term: number;
  readonly index: number;
  readonly kind: ProtoEntryKind;
  readonly data: Uint8Array;
}

export interface ProtoSnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: { readonly voters: readonly string[]; readonly learners: readonly string[] };
}

/** The wire form as proto-loader (camelCase) accepts it; fields a type does not use are absent. */
export interface ProtoMessage {
  readonly type: ProtoMessageType;
  readonly from: string;
  readonly to: string;
  readonly term: number;
  readonly lastLogIndex?: number;
  readonly lastLogTerm?: number;
  readonly transfer?: boolean;
  readonly reject?: boolean;
  readonly prevIndex?: number;
  readonly prevTerm?: number;
  readonly entries?: readonly ProtoEntry[];
  readonly commit?: number;
  readonly index?: number;
  readonly rejectHint?: number;
  readonly hintTerm?: number;
  readonly context?: string;
  readonly snapshot?: ProtoSnapshotMeta;
  readonly commitOnly?: boolean;
}

export const WIRE_TYPE: { readonly [K in MessageType]: ProtoMessageType } = {
  PreVote: 'PRE_VOTE',
  PreVoteResp: 'PRE_VOTE_RESP',
  Vote: 'VOTE',
  VoteResp: 'VOTE_RESP',
  Append: 'APPEND',
  AppendResp: 'APPEND_RESP',
  Heartbeat: 'HEARTBEAT',
  HeartbeatResp: 'HEARTBEAT_RESP',
  InstallSnapshot: 'INSTALL_SNAPSHOT',
  TimeoutNow: 'TIMEOUT_NOW',
  ReadIndex: 'READ_INDEX',
  ReadIndexResp: 'READ_INDEX_RESP',
};

const MESSAGE_TYPE: ReadonlyMap<string, MessageType> = new Map(
  Object.entries(WIRE_TYPE).map(([k, v]) => [v, k as MessageType]),
);

export const WIRE_KIND: { readonly [K in EntryKind]: ProtoEntryKind } = {
  normal: 'ENTRY_NORMAL',
  noop: 'ENTRY_NOOP',
  conf: 'ENTRY_CONF',
};

const ENTRY_KIND: ReadonlyMap<string, EntryKind> = new Map(
  Object.entries(WIRE_KIND).map(([k, v]) => [v, k as EntryKind]),
);

export function encodeEntry(e: Entry): ProtoEntry {
  return { term: e.term, index: e.index, kind: WIRE_KIND[e.kind], data: e.data };
}

function encodeSnapshotMeta(meta: SnapshotMeta): ProtoSnapshotMeta {
  return { index: meta.index, term: meta.term, conf: { voters: meta.conf.voters, learners: meta.conf.learners } };
}

export function encodeMessage(m: Message): ProtoMessage {
  const base = { type: WIRE_TYPE[m.type], from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'PreVote':
      return { ...base, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm, commit: m.commit };
    case 'Vote':
      return { ...base, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm, transfer: m.transfer, commit: m.commit };
    case 'PreVoteResp':
    case 'VoteResp':
      return { ...base, reject: m.reject };
    case 'Append':
      return {
        ...base,
        prevIndex: m.prevIndex,
        prevTerm: m.prevTerm,
        entries: m.entries.map(encodeEntry),
        commit: m.commit,
        commitOnly: m.commitOnly,
      };
    case 'AppendResp':
      return { ...base, reject: m.reject, index: m.index, rejectHint: m.rejectHint, hintTerm: m.hintTerm };
    case 'Heartbeat':
      return { ...base, commit: m.commit, context: m.context };
    case 'HeartbeatResp':
    case 'ReadIndex':
      return { ...base, context: m.context };
    case 'InstallSnapshot':
      return { ...base, snapshot: encodeSnapshotMeta(m.snapshot.meta) };
    case 'TimeoutNow':
      return base;
    case 'ReadIndexResp':
      return { ...base, index: m.index, reject: m.reject, context: m.context };
    default: {
      const never: never = m;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
}

/** A rough upper bound of a message's encoded size, used to cut batches below the gRPC limit. */
export function estimateSize(m: Message): number {
  const fixed = 96 + m.from.length + m.to.length;
  switch (m.type) {
    case 'Append':
      return fixed + m.entries.reduce((n, e) => n + 32 + e.data.byteLength, 0);
    case 'Heartbeat':
    case 'HeartbeatResp':
    case 'ReadIndex':
    case 'ReadIndexResp':
      return fixed + 3 * m.context.length;
    case 'InstallSnapshot':
      return fixed + 16 * (m.snapshot.meta.conf.voters.length + m.snapshot.meta.conf.learners.length);
    case 'PreVote':
    case 'Vote':
    case 'PreVoteResp':
    case 'VoteResp':
    case 'AppendResp':
    case 'TimeoutNow':
      return fixed;
    default: {
      const never: never = m;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
}

// ---- decoding -------------------------------------------------------------------------

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function asObject(v: unknown, path: string): Raw {
  if (!isRecord(v)) throw new ProtocolError(path === '' ? 'message' : path, 'an object', describe(v));
  return v;
}

/** Every integer of a Raft message is a term or an index: the shared bound applies to all. */
function uint(r: Raw, key: string, path: string): number {
  const v = r[key];
  const problem = raftNumberProblem(v, /term/i.test(key) ? 'term' : 'index');
  if (problem !== null) throw new ProtocolError(join(path, key), problem.expected, problem.found);
  return v as number;
}

function str(r: Raw, key: string, path: string): string {
  const v = r[key];
  if (typeof v !== 'string') throw new ProtocolError(join(path, key), 'a string', describe(v));
  return v;
}

function nonEmptyStr(r: Raw, key: string, path: string): string {
  const v = str(r, key, path);
  if (v === '') throw new ProtocolError(join(path, key), 'a non-empty string', '""');
  return v;
}

function bool(r: Raw, key: string, path: string): boolean {
  const v = r[key];
  if (typeof v !== 'boolean') throw new ProtocolError(join(path, key), 'a boolean', describe(v));
  return v;
}

/** Copies, so a message never pins the (larger) receive buffer it was decoded from. */
function bytes(r: Raw, key: string, path: string): Uint8Array {
  const v = r[key];
  if (!(v instanceof Uint8Array)) throw new ProtocolError(join(path, key), 'bytes', describe(v));
  return new Uint8Array(v);
}

function list(r: Raw, key: string, path: string): readonly unknown[] {
  const v = r[key];
  if (!Array.isArray(v)) throw new ProtocolError(join(path, key), 'an array', describe(v));
  return v as readonly unknown[];
}

function atMost(value: number, bound: number, field: string, boundName: string): void {
  if (value > bound) throw new ProtocolError(field, `at most ${boundName} (${bound})`, String(value));
}

/** Index 0 is the empty log's position; only term 0 may sit there. */
function zeroIndexHasZeroTerm(index: number, term: number, termField: string, indexName: string): void {
  if (index === 0 && term !== 0) throw new ProtocolError(termField, `0 when ${indexName} is 0`, String(term));
}

function decodeEntries(r: Raw, prevIndex: number, prevTerm: number, term: number): readonly Entry[] {
  const raw = list(r, 'entries', '');
  const out: Entry[] = [];
  let lastTerm = prevTerm;
  for (let i = 0; i < raw.length; i++) {
    const path = `entries[${i}]`;
    const e = asObject(raw[i], path);
    const index = uint(e, 'index', path);
    const expectedIndex = prevIndex + 1 + i;
    if (index !== expectedIndex) {
      throw new ProtocolError(`${path}.index`, `${expectedIndex} (contiguous after prevIndex ${prevIndex})`, String(index));
    }
    const entryTerm = uint(e, 'term', path);
    if (entryTerm < Math.max(1, lastTerm)) {
      throw new ProtocolError(`${path}.term`, `at least ${Math.max(1, lastTerm)} (terms never decrease along a log)`, String(entryTerm));
    }
    atMost(entryTerm, term, `${path}.term`, 'the message term');
    const kindRaw = e['kind'];
    const kind = typeof kindRaw === 'string' ? ENTRY_KIND.get(kindRaw) : undefined;
    if (kind === undefined) {
      throw new ProtocolError(`${path}.kind`, `one of ${[...ENTRY_KIND.keys()].join(', ')}`, describe(kindRaw));
    }
    out.push({ term: entryTerm, index, kind, data: bytes(e, 'data', path) });
    lastTerm = entryTerm;
  }
  return out;
}

function decodeConf(v: unknown, path: string): ConfState {
  const r = asObject(v, path);
  const ids = (key: string): string[] =>
    list(r, key, path).map((id, i) => {
      if (typeof id !== 'string' || id === '') {
        throw new ProtocolError(`${join(path, key)}[${i}]`, 'a non-empty node id', describe(id));
      }
      return id;
    });
  const voters = ids('voters');
  const learners = ids('learners');
  if (voters.length === 0) throw new ProtocolError(join(path, 'voters'), 'at least one voter', 'none');
  const seen = new Set<string>();
  for (const id of [...voters, ...learners]) {
    if (seen.has(id)) throw new ProtocolError(path, 'each node once among voters and learners', `${JSON.stringify(id)} twice`);
    seen.add(id);
  }
  return { voters, learners };
}

function decodeSnapshotMeta(r: Raw, term: number): SnapshotMeta {
  const path = 'snapshot';
  const s = asObject(r['snapshot'], path);
  const index = uint(s, 'index', path);
  if (index === 0) throw new ProtocolError('snapshot.index', 'at least 1 (an empty snapshot is never sent)', '0');
  const snapTerm = uint(s, 'term', path);
  if (snapTerm === 0) throw new ProtocolError('snapshot.term', 'at least 1', '0');
  atMost(snapTerm, term, 'snapshot.term', 'the message term');
  return { index, term: snapTerm, conf: decodeConf(s['conf'], 'snapshot.conf') };
}

/**
 * Validates a RaftMessage as proto-loader produced it and returns the Raft message.
 * An InstallSnapshot comes back with empty data: the caller attaches the reassembled chunks.
 * Throws ProtocolError naming the field, what was expected and what was found.
 */
export function decodeMessage(raw: unknown): Message {
  const r = asObject(raw, '');
  const typeRaw = r['type'];
  const type = typeof typeRaw === 'string' ? MESSAGE_TYPE.get(typeRaw) : undefined;
  if (type === undefined) {
    throw new ProtocolError('type', `one of ${[...MESSAGE_TYPE.keys()].join(', ')}`, describe(typeRaw));
  }
  const from = nonEmptyStr(r, 'from', '');
  const to = nonEmptyStr(r, 'to', '');
  if (from === to) throw new ProtocolError('to', `a node other than the sender ${JSON.stringify(from)}`, JSON.stringify(to));
  const term = uint(r, 'term', '');
  const base = { from, to, term };

  switch (type) {
    case 'PreVote':
    case 'Vote': {
      const lastLogIndex = uint(r, 'lastLogIndex', '');
      const lastLogTerm = uint(r, 'lastLogTerm', '');
      atMost(lastLogTerm, term, 'lastLogTerm', 'the message term');
      zeroIndexHasZeroTerm(lastLogIndex, lastLogTerm, 'lastLogTerm', 'lastLogIndex');
      // 0 from a peer of an earlier version, which did not send it: nothing is learned.
      const commit = uint(r, 'commit', '');
      return type === 'PreVote'
        ? { type, ...base, lastLogIndex, lastLogTerm, commit }
        : { type, ...base, lastLogIndex, lastLogTerm, commit, transfer: bool(r, 'transfer', '') };
    }
    case 'PreVoteResp':
    case 'VoteResp':
      return { type, ...base, reject: bool(r, 'reject', '') };
    case 'Append': {
      const prevIndex = uint(r, 'prevIndex', '');
      const prevTerm = uint(r, 'prevTerm', '');
      atMost(prevTerm, term, 'prevTerm', 'the message term');
      zeroIndexHasZeroTerm(prevIndex, prevTerm, 'prevTerm', 'prevIndex');
      const entries = decodeEntries(r, prevIndex, prevTerm, term);
      // false from a peer of an earlier version, which did not send it: it gets an answer.
      return { type, ...base, prevIndex, prevTerm, entries, commit: uint(r, 'commit', ''), commitOnly: bool(r, 'commitOnly', '') };
    }
    case 'AppendResp': {
      const reject = bool(r, 'reject', '');
      const index = uint(r, 'index', '');
      const rejectHint = uint(r, 'rejectHint', '');
      const hintTerm = uint(r, 'hintTerm', '');
      atMost(hintTerm, term, 'hintTerm', 'the message term');
      // The hint points back into the follower's log, never past the index it rejects.
      if (reject) atMost(rejectHint, index, 'rejectHint', 'the rejected index');
      return { type, ...base, reject, index, rejectHint, hintTerm };
    }
    case 'Heartbeat':
      return { type, ...base, commit: uint(r, 'commit', ''), context: str(r, 'context', '') };
    case 'HeartbeatResp':
    case 'ReadIndex':
      return { type, ...base, context: str(r, 'context', '') };
    case 'InstallSnapshot':
      return { type, ...base, snapshot: { meta: decodeSnapshotMeta(r, term), data: new Uint8Array(0) } };
    case 'TimeoutNow':
      return { type, ...base };
    case 'ReadIndexResp':
      return {
        type,
        ...base,
        index: uint(r, 'index', ''),
        reject: bool(r, 'reject', ''),
        context: str(r, 'context', ''),
      };
    default: {
      const never: never = type;
      throw new Error(`unreachable: ${String(never)}`);
    }
  }
}
