/**
 * A node's local view of every member, carried in the opaque payload of its membership pings
 * and pongs, together with the views it received first-hand from other reporters (relayed, so
 * that under a partial partition every node still learns what the far side hears). Binary and
 * versioned; `decodeHeartbeat` trusts nothing: every length is bounds-checked, every byte is
 * accounted for, and ids must be printable ASCII.
 *
 * Layout (big-endian), version 3:
 *   'M' 'V' version(1)
 *   body: flags(1, bit0: reporter has quorum contact) incarnation u32, seq u32, appliedIndex f64,
 *         reporter (len u8, bytes), version (len u8, bytes; 0: unknown),
 *         count u16, then per entry: id (len u8, bytes), status u8 (0 offline, 1 online),
 *         lastContactAgoMs u32 (0xffffffff: never heard), timeoutMs u32
 *   relayed u16, then per relayed view: ageMs u32 (how long ago the relaying node received
 *         it), body
 * Version 2 (before relays and versions) is still decoded: one body without the version field,
 * no relayed views.
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
  /** Whether the reporter had quorum contact (was not stale) when it sent the view. */
  readonly connected: boolean;
  /** The reporter's applied Raft index, so any node can show every member's lag. */
  readonly appliedIndex: number;
  /** The reporter's software version; null when it did not say (an older reporter). */
  readonly version: string | null;
  readonly entries: readonly ViewEntry[];
}

/** A view the sender received first-hand from its reporter, `ageMs` before it sent it on. */
export interface RelayedView {
  readonly ageMs: number;
  readonly view: MemberView;
}

/** What one ping or pong carries: the sender's own view and the views it relays. */
export interface HeartbeatPayload {
  readonly view: MemberView;
  readonly relayed: readonly RelayedView[];
}

export const VIEW_CODEC_VERSION = 3;
const OLDEST_DECODED_VERSION = 2;
export const MAX_VIEW_ENTRIES = 1024;
export const MAX_RELAYED_VIEWS = 1024;
const MAX_VERSION_LENGTH = 64;
const MAGIC_0 = 0x4d;
const MAGIC_1 = 0x56;
const NEVER = 0xffffffff;
const U32_MAX_VALUE = 0xfffffffe;
const ID = /^[\x21-\x7e]{1,255}$/;
const VERSION_TEXT = /^[\x21-\x7e]{1,64}$/;

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

function checkView(view: MemberView): void {
  const invalid = (m: string): Error => new MembershipError('INVALID_VIEW', `encodeView: ${m}`);
  checkId('reporter', view.reporter, invalid);
  checkU32('incarnation', view.incarnation);
  checkU32('seq', view.seq);
  if (view.version !== null && !VERSION_TEXT.test(view.version)) {
    throw invalid(`version: expected 1-${MAX_VERSION_LENGTH} printable ASCII characters, found ${JSON.stringify(view.version.slice(0, 40))}`);
  }
  if (!Number.isSafeInteger(view.appliedIndex) || view.appliedIndex < 0) throw invalid(`appliedIndex: expected a non-negative integer, found ${String(view.appliedIndex)}`);
  if (view.entries.length > MAX_VIEW_ENTRIES) throw invalid(`expected at most ${MAX_VIEW_ENTRIES} entries, found ${view.entries.length}`);
  const seen = new Set<string>();
  for (const e of view.entries) {
    checkId('entry id', e.id, invalid);
    if (seen.has(e.id)) throw invalid(`entry "${e.id}" appears twice`);
    seen.add(e.id);
  }
}

const bodySize = (v: MemberView): number =>
  1 + 16 + 1 + v.reporter.length + 1 + (v.version?.length ?? 0) + 2 + v.entries.reduce((n, e) => n + 1 + e.id.length + 9, 0);

/** Scratch for a double's 8 bytes: a Writer then needs no DataView of its own. */
const F64 = new DataView(new ArrayBuffer(8));

/**
 * Writes into one array of the exact size, byte by byte: no DataView and no TextEncoder result
 * per heartbeat (every node sends one to every peer each ping interval, and the simulations
 * millions). Strings are ASCII, which checkView has made sure of.
 */
class Writer {
  readonly out: Uint8Array;
  private at = 0;
  constructor(size: number) {
    this.out = new Uint8Array(size);
  }
  u8(v: number): void {
    this.out[this.at++] = v & 0xff;
  }
  u16(v: number): void {
    this.out[this.at++] = (v >>> 8) & 0xff;
    this.out[this.at++] = v & 0xff;
  }
  u32(v: number): void {
    this.out[this.at++] = (v >>> 24) & 0xff;
    this.out[this.at++] = (v >>> 16) & 0xff;
    this.out[this.at++] = (v >>> 8) & 0xff;
    this.out[this.at++] = v & 0xff;
  }
  f64(v: number): void {
    F64.setFloat64(0, v);
    for (let i = 0; i < 8; i++) this.out[this.at++] = F64.getUint8(i);
  }
  str(s: string): void {
    this.u8(s.length);
    for (let i = 0; i < s.length; i++) this.out[this.at++] = s.charCodeAt(i);
  }
  body(view: MemberView): void {
    this.u8(view.connected ? 1 : 0);
    this.u32(view.incarnation);
    this.u32(view.seq);
    this.f64(view.appliedIndex);
    this.str(view.reporter);
    this.str(view.version ?? '');
    this.u16(view.entries.length);
    for (const e of view.entries) {
      this.str(e.id);
      this.u8(e.status === 'online' ? 1 : 0);
      this.u32(e.lastContactAgoMs === null ? NEVER : clampMs(e.lastContactAgoMs));
      this.u32(clampMs(e.timeoutMs));
    }
  }
}

/** Encodes one ping or pong payload. Throws (MembershipError INVALID_VIEW) for what decode would refuse. */
export function encodeHeartbeat(payload: HeartbeatPayload): Uint8Array {
  checkView(payload.view);
  if (payload.relayed.length > MAX_RELAYED_VIEWS) {
    throw new MembershipError('INVALID_VIEW', `encodeView: expected at most ${MAX_RELAYED_VIEWS} relayed views, found ${payload.relayed.length}`);
  }
  for (const r of payload.relayed) checkView(r.view);
  const size = 3 + bodySize(payload.view) + 2 + payload.relayed.reduce((n, r) => n + 4 + bodySize(r.view), 0);
  const w = new Writer(size);
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(VIEW_CODEC_VERSION);
  w.body(payload.view);
  w.u16(payload.relayed.length);
  for (const r of payload.relayed) {
    w.u32(clampMs(r.ageMs));
    w.body(r.view);
  }
  return w.out;
}

/** A single view, nothing relayed. */
export function encodeView(view: MemberView): Uint8Array {
  return encodeHeartbeat({ view, relayed: [] });
}

class Reader {
  private readonly dv: DataView;
  at = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.byteLength;
  }
  need(n: number, what: string): void {
    if (this.at + n > this.bytes.byteLength) {
      throw new ViewDecodeError(`view: expected ${n} more byte(s) for ${what} at offset ${this.at}, found ${this.bytes.byteLength - this.at}`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.dv.getUint8(this.at++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.dv.getUint16(this.at);
    this.at += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.at);
    this.at += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.dv.getFloat64(this.at);
    this.at += 8;
    return v;
  }
  text(what: string): string {
    const len = this.u8(`${what} length`);
    this.need(len, what);
    let s: string;
    try {
      s = decoder.decode(this.bytes.subarray(this.at, this.at + len));
    } catch (cause) {
      throw new ViewDecodeError(`view: ${what} at offset ${this.at} is not valid UTF-8`, { cause });
    }
    this.at += len;
    return s;
  }
  id(what: string): string {
    const s = this.text(what);
    checkId(`view: ${what}`, s, (m) => new ViewDecodeError(m));
    return s;
  }
  body(codecVersion: number, where: string): MemberView {
    const flags = this.u8(`${where} flags`);
    if ((flags & ~1) !== 0) throw new ViewDecodeError(`view: ${where} flags: expected 0 or 1, found ${flags}`);
    const incarnation = this.u32(`${where} incarnation`);
    const seq = this.u32(`${where} seq`);
    const appliedIndex = this.f64(`${where} applied index`);
    if (!Number.isSafeInteger(appliedIndex) || appliedIndex < 0) throw new ViewDecodeError(`view: ${where}: expected a non-negative applied index, found ${appliedIndex}`);
    const reporter = this.id(`${where} reporter`);
    let version: string | null = null;
    if (codecVersion >= 3) {
      const v = this.text(`${where} version`);
      if (v !== '' && !VERSION_TEXT.test(v)) throw new ViewDecodeError(`view: ${where} version: expected printable ASCII, found ${JSON.stringify(v.slice(0, 40))}`);
      version = v === '' ? null : v;
    }
    const count = this.u16(`${where} entry count`);
    if (count > MAX_VIEW_ENTRIES) throw new ViewDecodeError(`view: ${where}: expected at most ${MAX_VIEW_ENTRIES} entries, found ${count}`);
    const entries: ViewEntry[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const id = this.id(`${where} entry ${i} id`);
      if (seen.has(id)) throw new ViewDecodeError(`view: ${where} entry "${id}" appears twice`);
      seen.add(id);
      const s = this.u8(`${where} entry ${i} status`);
      if (s > 1) throw new ViewDecodeError(`view: ${where} entry "${id}" status: expected 0 or 1, found ${s}`);
      const ago = this.u32(`${where} entry ${i} last contact`);
      const timeoutMs = this.u32(`${where} entry ${i} timeout`);
      entries.push({ id, status: s === 1 ? 'online' : 'offline', lastContactAgoMs: ago === NEVER ? null : ago, timeoutMs });
    }
    return { reporter, incarnation, seq, connected: flags === 1, appliedIndex, version, entries };
  }
}

/** Decodes a ping or pong payload; throws ViewDecodeError, saying what was expected, for anything else. */
export function decodeHeartbeat(bytes: Uint8Array): HeartbeatPayload {
  const r = new Reader(bytes);
  const m0 = r.u8('magic');
  const m1 = r.u8('magic');
  if (m0 !== MAGIC_0 || m1 !== MAGIC_1) {
    throw new ViewDecodeError(`view: expected magic "MV", found bytes 0x${m0.toString(16)} 0x${m1.toString(16)}`);
  }
  const version = r.u8('version');
  if (version < OLDEST_DECODED_VERSION || version > VIEW_CODEC_VERSION) {
    throw new ViewDecodeError(`view: expected version ${OLDEST_DECODED_VERSION} to ${VIEW_CODEC_VERSION}, found ${version}`);
  }
  const view = r.body(version, 'reporter');
  const relayed: RelayedView[] = [];
  if (version >= 3) {
    const count = r.u16('relayed count');
    if (count > MAX_RELAYED_VIEWS) throw new ViewDecodeError(`view: expected at most ${MAX_RELAYED_VIEWS} relayed views, found ${count}`);
    for (let i = 0; i < count; i++) {
      const ageMs = r.u32(`relayed view ${i} age`);
      relayed.push({ ageMs, view: r.body(version, `relayed view ${i}`) });
    }
  }
  if (r.at !== r.length) {
    throw new ViewDecodeError(`view: expected ${r.at} bytes, found ${r.length} (trailing data)`);
  }
  return { view, relayed };
}

/** The sender's own view of a payload. */
export function decodeView(bytes: Uint8Array): MemberView {
  return decodeHeartbeat(bytes).view;
}
