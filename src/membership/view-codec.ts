/**
 * A node's local view of every member, carried in the opaque payload of its membership pings
 * and pongs. Binary and versioned; `decodeView` trusts nothing: every length is bounds-checked,
 * every byte is accounted for, and ids must be printable ASCII.
 *
 * Layout (big-endian):
 *   'M' 'V' version(1) flags(bit0: reporter has leader contact)
 *   incarnation u32, seq u32
 *   reporter: len u8, bytes
 *   count u16, then per entry: id (len u8, bytes), status u8 (0 offline, 1 online),
 *   lastContactAgoMs u32 (0xffffffff: never heard), timeoutMs u32
 */
import type { MemberStatus, NodeId } from './types.js';
import { MembershipError, ViewDecodeError } from './errors.js';

export interface ViewEntry {
  readonly id: NodeId;
  readonly status: MemberStatus;
  /**
   * The silence the reporter's detector counted against `id` when it sent the view: ms since
   * its last message from `id`, without the reporter's own stalls; null: never heard. 0 for itself.
   */
  readonly lastContactAgoMs: number | null;
  /** The reporter's timeout for `id`, for reasons and repairs. */
  readonly timeoutMs: number;
}

export interface MemberView {
  readonly reporter: NodeId;
  /** Random per process start: orders views across a reporter's restarts together with `seq`. */
  readonly incarnation: number;
  /** Increases with every view a reporter sends within one incarnation (wraps at 2^32). */
  readonly seq: number;
  /** Whether the reporter had leader contact (was not stale) when it sent the view. */
  readonly connected: boolean;
  /** The reporter's applied Raft index, so any node can show every member's lag. */
  readonly appliedIndex: number;
  readonly entries: readonly ViewEntry[];
}

export const VIEW_CODEC_VERSION = 2;
export const MAX_VIEW_ENTRIES = 1024;
const MAGIC_0 = 0x4d;
const MAGIC_1 = 0x56;
const NEVER = 0xffffffff;
const U32_MAX_VALUE = 0xfffffffe;
const ID = /^[\x21-\x7e]{1,255}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function checkId(what: string, id: string, fail: (m: string) => Error): void {
  if (!ID.test(id)) throw fail(`${what}: expected 1-255 printable ASCII characters, found ${JSON.stringify(id.slice(0, 40))}`);
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new MembershipError('INVALID_VIEW', `${what}: expected an integer in [0, 2^32), found ${String(v)}`);
  }
}

const clampMs = (v: number): number => Math.min(U32_MAX_VALUE, Math.max(0, Math.round(v)));

export function encodeView(view: MemberView): Uint8Array {
  const invalid = (m: string): Error => new MembershipError('INVALID_VIEW', `encodeView: ${m}`);
  checkId('reporter', view.reporter, invalid);
  checkU32('incarnation', view.incarnation);
  checkU32('seq', view.seq);
  if (!Number.isSafeInteger(view.appliedIndex) || view.appliedIndex < 0) throw invalid(`appliedIndex: expected a non-negative integer, found ${String(view.appliedIndex)}`);
  if (view.entries.length > MAX_VIEW_ENTRIES) throw invalid(`expected at most ${MAX_VIEW_ENTRIES} entries, found ${view.entries.length}`);
  const seen = new Set<string>();
  for (const e of view.entries) {
    checkId('entry id', e.id, invalid);
    if (seen.has(e.id)) throw invalid(`entry "${e.id}" appears twice`);
    seen.add(e.id);
  }

  const size = 20 + 1 + view.reporter.length + 2 + view.entries.reduce((n, e) => n + 1 + e.id.length + 9, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let at = 0;
  const u8 = (v: number): void => void dv.setUint8(at++, v);
  const u32 = (v: number): void => {
    dv.setUint32(at, v);
    at += 4;
  };
  const str = (s: string): void => {
    u8(s.length);
    out.set(encoder.encode(s), at);
    at += s.length;
  };
  u8(MAGIC_0);
  u8(MAGIC_1);
  u8(VIEW_CODEC_VERSION);
  u8(view.connected ? 1 : 0);
  u32(view.incarnation);
  u32(view.seq);
  dv.setFloat64(at, view.appliedIndex);
  at += 8;
  str(view.reporter);
  dv.setUint16(at, view.entries.length);
  at += 2;
  for (const e of view.entries) {
    str(e.id);
    u8(e.status === 'online' ? 1 : 0);
    u32(e.lastContactAgoMs === null ? NEVER : clampMs(e.lastContactAgoMs));
    u32(clampMs(e.timeoutMs));
  }
  return out;
}

export function decodeView(bytes: Uint8Array): MemberView {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string): void => {
    if (at + n > bytes.byteLength) {
      throw new ViewDecodeError(`view: expected ${n} more byte(s) for ${what} at offset ${at}, found ${bytes.byteLength - at}`);
    }
  };
  const u8 = (what: string): number => {
    need(1, what);
    return dv.getUint8(at++);
  };
  const u32 = (what: string): number => {
    need(4, what);
    const v = dv.getUint32(at);
    at += 4;
    return v;
  };
  const str = (what: string): string => {
    const len = u8(`${what} length`);
    need(len, what);
    let s: string;
    try {
      s = decoder.decode(bytes.subarray(at, at + len));
    } catch (cause) {
      throw new ViewDecodeError(`view: ${what} at offset ${at} is not valid UTF-8`, { cause });
    }
    at += len;
    checkId(`view: ${what}`, s, (m) => new ViewDecodeError(m));
    return s;
  };

  const m0 = u8('magic');
  const m1 = u8('magic');
  if (m0 !== MAGIC_0 || m1 !== MAGIC_1) {
    throw new ViewDecodeError(`view: expected magic "MV", found bytes 0x${m0.toString(16)} 0x${m1.toString(16)}`);
  }
  const version = u8('version');
  if (version !== VIEW_CODEC_VERSION) throw new ViewDecodeError(`view: expected version ${VIEW_CODEC_VERSION}, found ${version}`);
  const flags = u8('flags');
  if ((flags & ~1) !== 0) throw new ViewDecodeError(`view: expected flags 0 or 1, found ${flags}`);
  const incarnation = u32('incarnation');
  const seq = u32('seq');
  need(8, 'applied index');
  const appliedIndex = dv.getFloat64(at);
  at += 8;
  if (!Number.isSafeInteger(appliedIndex) || appliedIndex < 0) throw new ViewDecodeError(`view: expected a non-negative applied index, found ${appliedIndex}`);
  const reporter = str('reporter');
  need(2, 'entry count');
  const count = dv.getUint16(at);
  at += 2;
  if (count > MAX_VIEW_ENTRIES) throw new ViewDecodeError(`view: expected at most ${MAX_VIEW_ENTRIES} entries, found ${count}`);

  const entries: ViewEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const id = str(`entry ${i} id`);
    if (seen.has(id)) throw new ViewDecodeError(`view: entry "${id}" appears twice`);
    seen.add(id);
    const s = u8(`entry ${i} status`);
    if (s > 1) throw new ViewDecodeError(`view: entry "${id}" status: expected 0 or 1, found ${s}`);
    const ago = u32(`entry ${i} last contact`);
    const timeoutMs = u32(`entry ${i} timeout`);
    entries.push({ id, status: s === 1 ? 'online' : 'offline', lastContactAgoMs: ago === NEVER ? null : ago, timeoutMs });
  }
  if (at !== bytes.byteLength) {
    throw new ViewDecodeError(`view: expected ${at} bytes, found ${bytes.byteLength} (trailing data)`);
  }
  return { reporter, incarnation, seq, connected: flags === 1, appliedIndex, entries };
}
