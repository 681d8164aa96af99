/**
 * MessageBatch (proto/peer.proto) written straight from Raft messages and read straight into
 * the plain shape codec.ts validates, without protobufjs objects in between: a batch is the
 * one message every member sends to every other several times per write and per heartbeat.
 *
 * Writing mirrors encodeMessage (codec.ts): each type carries the fields it uses, written even
 * at their default, as proto-loader wrote the objects encodeMessage made (byte for byte). Reading yields exactly what proto-loader yields with this
 * project's options (PROTO_DECODE_OPTIONS: defaults filled in, enums by name, uint64 as
 * number), so decodeMessage stays the one place that judges what a peer sent, whichever
 * decoder ran.
 */
import type { Message } from '../raft/messages.js';
import type { Entry } from '../raft/types.js';
import { WIRE_TYPE, WIRE_KIND } from './codec.js';
import {
  boolFieldSize,
  bytesFieldSize,
  lenFieldSize,
  Reader,
  stringFieldSize,
  varintFieldSize,
  WIRE_BYTES,
  WIRE_VARINT,
  Writer,
} from './protobuf.js';
import { MalformedMessageError } from './strict-decode.js';
import type { WireIdentity } from './wire.js';

/** A batch as the link sends it: the envelope and the Raft messages themselves. */
export interface OutgoingBatch extends WireIdentity {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly messages: readonly Message[];
  /** StepStream only: the receiver may answer in the StepAcks (proto/peer.proto). */
  readonly replies?: boolean;
}

// The enums' numbers in proto/peer.proto.
const TYPE_NUMBER: Readonly<Record<string, number>> = {
  PRE_VOTE: 1,
  PRE_VOTE_RESP: 2,
  VOTE: 3,
  VOTE_RESP: 4,
  APPEND: 5,
  APPEND_RESP: 6,
  HEARTBEAT: 7,
  HEARTBEAT_RESP: 8,
  INSTALL_SNAPSHOT: 9,
  TIMEOUT_NOW: 10,
  READ_INDEX: 11,
  READ_INDEX_RESP: 12,
};
const TYPE_NAME: readonly string[] = ['MESSAGE_TYPE_UNSPECIFIED', ...Object.keys(TYPE_NUMBER)];
const KIND_NUMBER: Readonly<Record<string, number>> = { ENTRY_NORMAL: 1, ENTRY_NOOP: 2, ENTRY_CONF: 3 };
const KIND_NAME: readonly string[] = ['ENTRY_KIND_UNSPECIFIED', ...Object.keys(KIND_NUMBER)];

// ---- writing ------------------------------------------------------------------------------

function entrySize(e: Entry): number {
  return varintFieldSize(1, e.term) + varintFieldSize(2, e.index) + varintFieldSize(3, KIND_NUMBER[WIRE_KIND[e.kind]]!) + bytesFieldSize(4, e.data);
}

/** The fields of RaftMessage `m` would take this many bytes (the same choice as encodeMessage). */
function messageSize(m: Message, entrySizes: number[]): number {
  let n = varintFieldSize(1, TYPE_NUMBER[WIRE_TYPE[m.type]]!) + stringFieldSize(2, m.from) + stringFieldSize(3, m.to) + varintFieldSize(4, m.term);
  switch (m.type) {
    case 'PreVote':
      return n + varintFieldSize(5, m.lastLogIndex) + varintFieldSize(6, m.lastLogTerm) + varintFieldSize(12, m.commit);
    case 'Vote':
      return n + varintFieldSize(5, m.lastLogIndex) + varintFieldSize(6, m.lastLogTerm) + boolFieldSize(7, m.transfer) + varintFieldSize(12, m.commit);
    case 'PreVoteResp':
    case 'VoteResp':
      return n + boolFieldSize(8, m.reject);
    case 'Append':
      n += varintFieldSize(9, m.prevIndex) + varintFieldSize(10, m.prevTerm) + varintFieldSize(12, m.commit) + boolFieldSize(18, m.commitOnly);
      for (const e of m.entries) {
        const s = entrySize(e);
        entrySizes.push(s);
        n += lenFieldSize(11, s);
      }
      return n;
    case 'AppendResp':
      return n + boolFieldSize(8, m.reject) + varintFieldSize(13, m.index) + varintFieldSize(14, m.rejectHint) + varintFieldSize(15, m.hintTerm);
    case 'Heartbeat':
      return n + varintFieldSize(12, m.commit) + stringFieldSize(16, m.context);
    case 'HeartbeatResp':
    case 'ReadIndex':
      return n + stringFieldSize(16, m.context);
    case 'ReadIndexResp':
      return n + varintFieldSize(13, m.index) + boolFieldSize(8, m.reject) + stringFieldSize(16, m.context);
    case 'TimeoutNow':
      return n;
    case 'InstallSnapshot':
      // Snapshots travel on their own stream (snapshot-stream.ts), never in a batch.
      throw new Error('invariant: InstallSnapshot in a Step batch');
    default: {
      const never: never = m;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
}

function writeMessage(w: Writer, m: Message, entrySizes: readonly number[], at: { k: number }): void {
  w.uintField(1, TYPE_NUMBER[WIRE_TYPE[m.type]]!);
  w.stringField(2, m.from);
  w.stringField(3, m.to);
  w.uintField(4, m.term);
  switch (m.type) {
    case 'PreVote':
      w.uintField(5, m.lastLogIndex);
      w.uintField(6, m.lastLogTerm);
      w.uintField(12, m.commit);
      return;
    case 'Vote':
      w.uintField(5, m.lastLogIndex);
      w.uintField(6, m.lastLogTerm);
      w.boolField(7, m.transfer);
      w.uintField(12, m.commit);
      return;
    case 'PreVoteResp':
    case 'VoteResp':
      w.boolField(8, m.reject);
      return;
    case 'Append':
      w.uintField(9, m.prevIndex);
      w.uintField(10, m.prevTerm);
      for (const e of m.entries) {
        w.messageHeader(11, entrySizes[at.k++]!);
        w.uintField(1, e.term);
        w.uintField(2, e.index);
        w.uintField(3, KIND_NUMBER[WIRE_KIND[e.kind]]!);
        w.bytesField(4, e.data);
      }
      w.uintField(12, m.commit);
      w.boolField(18, m.commitOnly);
      return;
    case 'AppendResp':
      w.boolField(8, m.reject);
      w.uintField(13, m.index);
      w.uintField(14, m.rejectHint);
      w.uintField(15, m.hintTerm);
      return;
    case 'Heartbeat':
      w.uintField(12, m.commit);
      w.stringField(16, m.context);
      return;
    case 'HeartbeatResp':
    case 'ReadIndex':
      w.stringField(16, m.context);
      return;
    case 'ReadIndexResp':
      w.boolField(8, m.reject);
      w.uintField(13, m.index);
      w.stringField(16, m.context);
      return;
    case 'TimeoutNow':
      return;
    case 'InstallSnapshot':
      throw new Error('invariant: InstallSnapshot in a Step batch');
    default: {
      const never: never = m;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
}

/** The protobuf bytes of a MessageBatch carrying `b`. */
export function encodeBatch(b: OutgoingBatch): Buffer {
  const entrySizes: number[] = [];
  const sizes = b.messages.map((m) => messageSize(m, entrySizes));
  let size =
    stringFieldSize(1, b.cluster) +
    stringFieldSize(2, b.from) +
    stringFieldSize(3, b.to) +
    stringFieldSize(5, b.clusterId) +
    stringFieldSize(6, b.incarnation) +
    stringFieldSize(7, b.toIncarnation) +
    (b.replies === undefined ? 0 : boolFieldSize(8, b.replies)) +
    stringFieldSize(9, b.creation) +
    stringFieldSize(10, b.boot);
  for (const s of sizes) size += lenFieldSize(4, s);
  const w = new Writer(size);
  w.stringField(1, b.cluster);
  w.stringField(2, b.from);
  w.stringField(3, b.to);
  const at = { k: 0 };
  for (let i = 0; i < b.messages.length; i++) {
    w.messageHeader(4, sizes[i]!);
    writeMessage(w, b.messages[i]!, entrySizes, at);
  }
  w.stringField(5, b.clusterId);
  w.stringField(6, b.incarnation);
  w.stringField(7, b.toIncarnation);
  // Written when present, whatever its value, as proto-loader writes fields.
  if (b.replies !== undefined) w.boolField(8, b.replies);
  w.stringField(9, b.creation);
  w.stringField(10, b.boot);
  return w.done();
}

/** An empty StepAck: the acknowledgement of a batch, carrying nothing back. */
const EMPTY_ACK = Buffer.alloc(0);

/** The protobuf bytes of a StepAck, carrying `reply` when there is one. */
export function encodeStepAck(reply: OutgoingBatch | null): Buffer {
  if (reply === null) return EMPTY_ACK;
  const body = encodeBatch(reply);
  const w = new Writer(lenFieldSize(1, body.length) - body.length);
  w.messageHeader(1, body.length);
  return Buffer.concat([w.done(), body]);
}

// ---- reading ------------------------------------------------------------------------------

type Raw = Record<string, unknown>;

function wrongWire(field: number, wire: number, name: string): never {
  throw new MalformedMessageError(`malformed protobuf: ${name} field ${field} has wire type ${wire}, not the one its type uses`);
}

function expectWire(wire: number, want: number, field: number, name: string): void {
  if (wire !== want) wrongWire(field, wire, name);
}

function enumName(names: readonly string[], v: number): string | number {
  // proto-loader gives the name of a known value and the number of an unknown one.
  return names[v] ?? v;
}

function readEntry(r: Reader): Raw {
  const e: Raw = { term: 0, index: 0, kind: KIND_NAME[0], data: Buffer.alloc(0) };
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expectWire(wire, WIRE_VARINT, field, 'Entry');
        e['term'] = r.varint();
        break;
      case 2:
        expectWire(wire, WIRE_VARINT, field, 'Entry');
        e['index'] = r.varint();
        break;
      case 3:
        expectWire(wire, WIRE_VARINT, field, 'Entry');
        e['kind'] = enumName(KIND_NAME, r.varint());
        break;
      case 4:
        expectWire(wire, WIRE_BYTES, field, 'Entry');
        e['data'] = r.bytes(field);
        break;
      default:
        r.skipUnknownField(field, wire);
    }
  }
  return e;
}

function readStrings(r: Reader, field: number, into: string[], wire: number, name: string): void {
  expectWire(wire, WIRE_BYTES, field, name);
  into.push(r.string(field));
}

function readConf(r: Reader): Raw {
  const voters: string[] = [];
  const learners: string[] = [];
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) readStrings(r, field, voters, wire, 'ConfState');
    else if (field === 2) readStrings(r, field, learners, wire, 'ConfState');
    else r.skipUnknownField(field, wire);
  }
  return { voters, learners };
}

function readSnapshotMeta(r: Reader): Raw {
  const s: Raw = { index: 0, term: 0, conf: null };
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expectWire(wire, WIRE_VARINT, field, 'SnapshotMeta');
        s['index'] = r.varint();
        break;
      case 2:
        expectWire(wire, WIRE_VARINT, field, 'SnapshotMeta');
        s['term'] = r.varint();
        break;
      case 3: {
        expectWire(wire, WIRE_BYTES, field, 'SnapshotMeta');
        const [start, end] = r.span(field);
        s['conf'] = readConf(new Reader(r.buf, start, end));
        break;
      }
      default:
        r.skipUnknownField(field, wire);
    }
  }
  return s;
}

const UINT_FIELDS: Readonly<Record<number, string>> = {
  4: 'term',
  5: 'lastLogIndex',
  6: 'lastLogTerm',
  9: 'prevIndex',
  10: 'prevTerm',
  12: 'commit',
  13: 'index',
  14: 'rejectHint',
  15: 'hintTerm',
};

function readMessage(r: Reader): Raw {
  const entries: Raw[] = [];
  const m: Raw = {
    type: TYPE_NAME[0],
    from: '',
    to: '',
    term: 0,
    lastLogIndex: 0,
    lastLogTerm: 0,
    transfer: false,
    reject: false,
    prevIndex: 0,
    prevTerm: 0,
    entries,
    commit: 0,
    index: 0,
    rejectHint: 0,
    hintTerm: 0,
    context: '',
    snapshot: null,
    commitOnly: false,
  };
  while (r.more()) {
    const [field, wire] = r.tag();
    const uint = UINT_FIELDS[field];
    if (uint !== undefined) {
      expectWire(wire, WIRE_VARINT, field, 'RaftMessage');
      m[uint] = r.varint();
      continue;
    }
    switch (field) {
      case 1:
        expectWire(wire, WIRE_VARINT, field, 'RaftMessage');
        m['type'] = enumName(TYPE_NAME, r.varint());
        break;
      case 2:
        expectWire(wire, WIRE_BYTES, field, 'RaftMessage');
        m['from'] = r.string(field);
        break;
      case 3:
        expectWire(wire, WIRE_BYTES, field, 'RaftMessage');
        m['to'] = r.string(field);
        break;
      case 7:
        expectWire(wire, WIRE_VARINT, field, 'RaftMessage');
        m['transfer'] = r.varint() !== 0;
        break;
      case 8:
        expectWire(wire, WIRE_VARINT, field, 'RaftMessage');
        m['reject'] = r.varint() !== 0;
        break;
      case 11: {
        expectWire(wire, WIRE_BYTES, field, 'RaftMessage');
        const [start, end] = r.span(field);
        entries.push(readEntry(new Reader(r.buf, start, end)));
        break;
      }
      case 16:
        expectWire(wire, WIRE_BYTES, field, 'RaftMessage');
        m['context'] = r.string(field);
        break;
      case 17: {
        expectWire(wire, WIRE_BYTES, field, 'RaftMessage');
        const [start, end] = r.span(field);
        m['snapshot'] = readSnapshotMeta(new Reader(r.buf, start, end));
        break;
      }
      case 18:
        expectWire(wire, WIRE_VARINT, field, 'RaftMessage');
        m['commitOnly'] = r.varint() !== 0;
        break;
      default:
        r.skipUnknownField(field, wire);
    }
  }
  return m;
}

const BATCH_STRINGS: Readonly<Record<number, string>> = { 1: 'cluster', 2: 'from', 3: 'to', 5: 'clusterId', 6: 'incarnation', 7: 'toIncarnation', 9: 'creation', 10: 'boot' };

/**
 * A MessageBatch's bytes as the plain object proto-loader would make of them; throws
 * MalformedMessageError when the framing is broken at any depth. Judging the contents is
 * decodeMessage's job (peer-service.ts runs it on each message).
 */
export function decodeBatch(buf: Uint8Array): Raw {
  return readBatch(buf, 0, buf.length);
}

function readBatch(buf: Uint8Array, from: number, to: number): Raw {
  const messages: Raw[] = [];
  const b: Raw = { cluster: '', from: '', to: '', messages, clusterId: '', incarnation: '', toIncarnation: '', replies: false, creation: '', boot: '' };
  const r = new Reader(buf, from, to);
  while (r.more()) {
    const [field, wire] = r.tag();
    const name = BATCH_STRINGS[field];
    if (name !== undefined) {
      expectWire(wire, WIRE_BYTES, field, 'MessageBatch');
      b[name] = r.string(field);
    } else if (field === 4) {
      expectWire(wire, WIRE_BYTES, field, 'MessageBatch');
      const [start, end] = r.span(field);
      messages.push(readMessage(new Reader(buf, start, end)));
    } else if (field === 8) {
      expectWire(wire, WIRE_VARINT, field, 'MessageBatch');
      b['replies'] = r.varint() !== 0;
    } else {
      r.skipUnknownField(field, wire);
    }
  }
  return b;
}

/**
 * A StepAck's bytes: `{ reply }`, the batch it carries back as decodeBatch reads one, or null
 * for an empty ack (every ack of an older peer). Throws MalformedMessageError on broken framing.
 */
export function decodeStepAck(buf: Uint8Array): { readonly reply: Raw | null } {
  let reply: Raw | null = null;
  const r = new Reader(buf);
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, WIRE_BYTES, field, 'StepAck');
      const [start, end] = r.span(field);
      reply = readBatch(buf, start, end);
    } else {
      r.skipUnknownField(field, wire);
    }
  }
  return { reply };
}
