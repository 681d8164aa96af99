/**
 * Binary records of the Raft storage, each ending in a CRC32 of everything before it.
 * Binary, not JSON, because an entry is written on every proposal (the hot path).
 *
 *   entry:         ver u8 | kind u8 | term u64 | index u64 | dataLen u32 | data | crc u32
 *   hard state:    ver u8 | term u64 | commit u64 | hasVote u8 | voteLen u16 | vote | crc u32
 *   snapshot meta: ver u8 | index u64 | term u64 | dataLen u32 | dataCrc u32
 *                  | voters (count u16, then len u16 + utf8 each) | learners (same) | crc u32
 *
 * The snapshot's data is stored raw under its own key; the meta carries its length and CRC.
 * Integers are big-endian. Terms and indexes obey the rule of src/limits/raft-numbers.ts, the
 * same as on the wire: a value beyond it is refused when written and reported when read.
 */
import { crc32 } from 'node:zlib';
import { describeProblem, raftNumberProblem, type RaftNumberKind } from '../limits/raft-numbers.js';
import type { ConfState, Entry, EntryKind, HardState, NodeId, SnapshotMeta } from '../raft/types.js';

export const FORMAT_VERSION = 1;

/** Decoding never throws: it says what it expected and what it found. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const bad = <T>(problem: string): Decoded<T> => ({ ok: false, problem });

const TWO_32 = 0x1_0000_0000;
const CRC_LEN = 4;
const ENTRY_HEADER_LEN = 22;

function writeU64(buf: Buffer, n: number, at: number): void {
  buf.writeUInt32BE(Math.floor(n / TWO_32), at);
  buf.writeUInt32BE(n >>> 0, at + 4);
}

function readU64(view: Buffer, at: number): number {
  return view.readUInt32BE(at) * TWO_32 + view.readUInt32BE(at + 4);
}

/** Null when every named term or index is within the shared bound; else the first problem. */
function boundsProblem(values: readonly (readonly [string, number, RaftNumberKind])[]): string | null {
  for (const [name, value, kind] of values) {
    const p = raftNumberProblem(value, kind);
    if (p !== null) return `${name}: ${describeProblem(p)}`;
  }
  return null;
}

/** Writing a value the reader would refuse would brick the node at its next start. */
function assertInBounds(values: readonly (readonly [string, number, RaftNumberKind])[]): void {
  const problem = boundsProblem(values);
  if (problem !== null) throw new RangeError(`refusing to store ${problem}`);
}

/** A Buffer over the same bytes, for its read methods; no copy. */
const asBuffer = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

function sealCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(0, buf.length - CRC_LEN)), buf.length - CRC_LEN);
  return buf;
}

/** Checks length, checksum and version, the checks every record shares. */
function checkFrame(value: Uint8Array, minLen: number): string | null {
  if (value.length < minLen) return `expected at least ${minLen} bytes, found ${value.length}`;
  const view = asBuffer(value);
  const stored = view.readUInt32BE(value.length - CRC_LEN);
  const actual = crc32(value.subarray(0, value.length - CRC_LEN));
  if (stored !== actual) {
    return `checksum mismatch: stored crc32 ${hex32(stored)}, computed ${hex32(actual)} over ${value.length - CRC_LEN} bytes`;
  }
  if (value[0] !== FORMAT_VERSION) return `expected format version ${FORMAT_VERSION}, found ${value[0]}`;
  return null;
}

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

const KIND_CODE: Readonly<Record<EntryKind, number>> = { normal: 0, noop: 1, conf: 2 };
const KIND_BY_CODE: readonly EntryKind[] = ['normal', 'noop', 'conf'];

export function encodeEntry(e: Entry): Buffer {
  assertInBounds([['term', e.term, 'term'], ['index', e.index, 'index']]);
  const buf = Buffer.allocUnsafe(ENTRY_HEADER_LEN + e.data.length + CRC_LEN);
  buf[0] = FORMAT_VERSION;
  buf[1] = KIND_CODE[e.kind];
  writeU64(buf, e.term, 2);
  writeU64(buf, e.index, 10);
  buf.writeUInt32BE(e.data.length, 18);
  buf.set(e.data, ENTRY_HEADER_LEN);
  return sealCrc(buf);
}

export function decodeEntry(value: Uint8Array): Decoded<Entry> {
  const frame = checkFrame(value, ENTRY_HEADER_LEN + CRC_LEN);
  if (frame !== null) return bad(frame);
  const kind = KIND_BY_CODE[value[1]!];
  if (kind === undefined) return bad(`expected entry kind 0..2, found ${value[1]}`);
  const view = asBuffer(value);
  const dataLen = view.readUInt32BE(18);
  if (ENTRY_HEADER_LEN + dataLen + CRC_LEN !== value.length) {
    return bad(`header says ${dataLen} data bytes, value holds ${value.length - ENTRY_HEADER_LEN - CRC_LEN}`);
  }
  // Copy: the loaded entry outlives the buffer LevelDB handed us and must not alias it.
  const term = readU64(view, 2);
  const index = readU64(view, 10);
  const bounds = boundsProblem([['term', term, 'term'], ['index', index, 'index']]);
  if (bounds !== null) return bad(bounds);
  const data = new Uint8Array(value.subarray(ENTRY_HEADER_LEN, ENTRY_HEADER_LEN + dataLen));
  return ok({ term, index, kind, data });
}

export function encodeHardState(hs: HardState): Buffer {
  assertInBounds([['term', hs.term, 'term'], ['commit', hs.commit, 'index']]);
  const vote = hs.vote === null ? Buffer.alloc(0) : Buffer.from(hs.vote, 'utf8');
  const buf = Buffer.allocUnsafe(20 + vote.length + CRC_LEN);
  buf[0] = FORMAT_VERSION;
  writeU64(buf, hs.term, 1);
  writeU64(buf, hs.commit, 9);
  buf[17] = hs.vote === null ? 0 : 1;
  buf.writeUInt16BE(vote.length, 18);
  vote.copy(buf, 20);
  return sealCrc(buf);
}

export function decodeHardState(value: Uint8Array): Decoded<HardState> {
  const frame = checkFrame(value, 20 + CRC_LEN);
  if (frame !== null) return bad(frame);
  const view = asBuffer(value);
  const voteLen = view.readUInt16BE(18);
  if (20 + voteLen + CRC_LEN !== value.length) {
    return bad(`header says a ${voteLen}-byte vote, value holds ${value.length - 20 - CRC_LEN}`);
  }
  const vote = value[17] === 0 ? null : view.toString('utf8', 20, 20 + voteLen);
  const term = readU64(view, 1);
  const commit = readU64(view, 9);
  const bounds = boundsProblem([['term', term, 'term'], ['commit', commit, 'index']]);
  if (bounds !== null) return bad(bounds);
  return ok({ term, commit, vote });
}

function idListLength(ids: readonly NodeId[]): number {
  let n = 2;
  for (const id of ids) n += 2 + Buffer.byteLength(id, 'utf8');
  return n;
}

function writeIdList(buf: Buffer, ids: readonly NodeId[], at: number): number {
  buf.writeUInt16BE(ids.length, at);
  let pos = at + 2;
  for (const id of ids) {
    const len = buf.write(id, pos + 2, 'utf8');
    buf.writeUInt16BE(len, pos);
    pos += 2 + len;
  }
  return pos;
}

/** Reads a list written by writeIdList; null if it runs past `end`. */
function readIdList(view: Buffer, at: number, end: number): { ids: NodeId[]; next: number } | null {
  if (at + 2 > end) return null;
  const count = view.readUInt16BE(at);
  let pos = at + 2;
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 2 > end) return null;
    const len = view.readUInt16BE(pos);
    if (pos + 2 + len > end) return null;
    ids.push(view.toString('utf8', pos + 2, pos + 2 + len));
    pos += 2 + len;
  }
  return { ids, next: pos };
}

/** What the snapshot meta record holds: the meta plus how to verify the separately stored data. */
export interface StoredSnapshotMeta {
  readonly meta: SnapshotMeta;
  readonly dataLength: number;
  readonly dataCrc: number;
}

export function encodeSnapshotMeta(meta: SnapshotMeta, data: Uint8Array): Buffer {
  assertInBounds([['term', meta.term, 'term'], ['index', meta.index, 'index']]);
  const { voters, learners } = meta.conf;
  const buf = Buffer.allocUnsafe(25 + idListLength(voters) + idListLength(learners) + CRC_LEN);
  buf[0] = FORMAT_VERSION;
  writeU64(buf, meta.index, 1);
  writeU64(buf, meta.term, 9);
  buf.writeUInt32BE(data.length, 17);
  buf.writeUInt32BE(crc32(data), 21);
  writeIdList(buf, learners, writeIdList(buf, voters, 25));
  return sealCrc(buf);
}

export function decodeSnapshotMeta(value: Uint8Array): Decoded<StoredSnapshotMeta> {
  const frame = checkFrame(value, 25 + 4 + CRC_LEN);
  if (frame !== null) return bad(frame);
  const view = asBuffer(value);
  const end = value.length - CRC_LEN;
  const voters = readIdList(view, 25, end);
  const learners = voters === null ? null : readIdList(view, voters.next, end);
  if (voters === null || learners === null || learners.next !== end) {
    return bad(`expected voter and learner lists filling ${end - 25} bytes, found a malformed list`);
  }
  const conf: ConfState = { voters: voters.ids, learners: learners.ids };
  const index = readU64(view, 1);
  const term = readU64(view, 9);
  const bounds = boundsProblem([['term', term, 'term'], ['index', index, 'index']]);
  if (bounds !== null) return bad(bounds);
  return ok({
    meta: { index, term, conf },
    dataLength: view.readUInt32BE(17),
    dataCrc: view.readUInt32BE(21),
  });
}
