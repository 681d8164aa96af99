/**
 * HeartbeatPing and HeartbeatPong (proto/peer.proto) by hand: every member pings every other
 * several times a second, idle or not, so their encoding is part of a member's idle cost.
 * Same bytes and same decoded shapes as proto-loader (see batch-codec.ts): every field the
 * object has is written, `seq` only when present.
 */
import { bytesFieldSize, doubleFieldSize, lenFieldSize, Reader, stringFieldSize, varintFieldSize, WIRE_BYTES, WIRE_FIXED64, WIRE_VARINT, Writer } from './protobuf.js';
import { MalformedMessageError } from './strict-decode.js';
import type { WireDisk, WirePing, WirePong } from './wire.js';

type Raw = Record<string, unknown>;

export function encodePing(p: WirePing): Buffer {
  const w = new Writer(
    stringFieldSize(1, p.from) +
      stringFieldSize(2, p.to) +
      stringFieldSize(3, p.cluster) +
      doubleFieldSize(4, p.sendTimeMs) +
      bytesFieldSize(5, p.payload) +
      (p.seq === undefined ? 0 : varintFieldSize(6, p.seq)) +
      stringFieldSize(7, p.clusterId) +
      stringFieldSize(8, p.incarnation) +
      stringFieldSize(9, p.toIncarnation) +
      stringFieldSize(10, p.creation) +
      stringFieldSize(11, p.boot),
  );
  w.stringField(1, p.from);
  w.stringField(2, p.to);
  w.stringField(3, p.cluster);
  w.doubleField(4, p.sendTimeMs);
  w.bytesField(5, p.payload);
  if (p.seq !== undefined) w.uintField(6, p.seq);
  w.stringField(7, p.clusterId);
  w.stringField(8, p.incarnation);
  w.stringField(9, p.toIncarnation);
  w.stringField(10, p.creation);
  w.stringField(11, p.boot);
  return w.done();
}

/** PeerDisk's bytes without its tag and length (both fields written, as protobufjs writes a set field). */
function diskSize(d: WireDisk): number {
  return varintFieldSize(1, d.freeBytes) + varintFieldSize(2, d.floorBytes);
}

export function encodePong(p: WirePong): Buffer {
  const disk = p.disk ?? null;
  const w = new Writer(
    stringFieldSize(1, p.from) +
      doubleFieldSize(2, p.echoSendTimeMs) +
      bytesFieldSize(3, p.payload) +
      (p.seq === undefined ? 0 : varintFieldSize(4, p.seq)) +
      stringFieldSize(5, p.clusterId) +
      stringFieldSize(6, p.incarnation) +
      stringFieldSize(7, p.toIncarnation) +
      stringFieldSize(8, p.creation) +
      stringFieldSize(9, p.boot) +
      (disk === null ? 0 : lenFieldSize(10, diskSize(disk))),
  );
  w.stringField(1, p.from);
  w.doubleField(2, p.echoSendTimeMs);
  w.bytesField(3, p.payload);
  if (p.seq !== undefined) w.uintField(4, p.seq);
  w.stringField(5, p.clusterId);
  w.stringField(6, p.incarnation);
  w.stringField(7, p.toIncarnation);
  w.stringField(8, p.creation);
  w.stringField(9, p.boot);
  if (disk !== null) {
    w.messageHeader(10, diskSize(disk));
    w.uintField(1, disk.freeBytes);
    w.uintField(2, disk.floorBytes);
  }
  return w.done();
}

/** An embedded PeerDisk, as proto-loader decodes it (both fields, 0 when absent). */
function decodeDisk(r: Reader, field: number): Raw {
  const [start, end] = r.span(field);
  const sub = new Reader(r.buf, start, end);
  const out: Raw = { freeBytes: 0, floorBytes: 0 };
  while (sub.more()) {
    const [f, wire] = sub.tag();
    if ((f === 1 || f === 2) && wire === WIRE_VARINT) out[f === 1 ? 'freeBytes' : 'floorBytes'] = sub.varint();
    else if (f === 1 || f === 2) throw new MalformedMessageError(`malformed protobuf: PeerDisk field ${f} has wire type ${wire}, not the one its type uses`);
    else sub.skipUnknownField(f, wire);
  }
  return out;
}

type FieldKind = 'string' | 'double' | 'bytes' | 'uint' | 'disk';
const WIRE_OF: Readonly<Record<FieldKind, number>> = { string: WIRE_BYTES, double: WIRE_FIXED64, bytes: WIRE_BYTES, uint: WIRE_VARINT, disk: WIRE_BYTES };
const DEFAULT_OF: Readonly<Record<FieldKind, () => unknown>> = { string: () => '', double: () => 0, bytes: () => Buffer.alloc(0), uint: () => 0, disk: () => null };

function decodeFlat(buf: Uint8Array, name: string, fields: Readonly<Record<number, readonly [string, FieldKind]>>): Raw {
  const out: Raw = {};
  for (const [key, kind] of Object.values(fields)) out[key] = DEFAULT_OF[kind]();
  const r = new Reader(buf);
  while (r.more()) {
    const [field, wire] = r.tag();
    const f = fields[field];
    if (f === undefined) {
      r.skipUnknownField(field, wire);
      continue;
    }
    const [key, kind] = f;
    if (wire !== WIRE_OF[kind]) throw new MalformedMessageError(`malformed protobuf: ${name} field ${field} has wire type ${wire}, not the one its type uses`);
    switch (kind) {
      case 'string':
        out[key] = r.string(field);
        break;
      case 'double':
        out[key] = r.double(field);
        break;
      case 'bytes':
        out[key] = r.bytes(field);
        break;
      case 'uint':
        out[key] = r.varint();
        break;
      case 'disk':
        out[key] = decodeDisk(r, field);
        break;
    }
  }
  return out;
}

const PING_FIELDS: Readonly<Record<number, readonly [string, FieldKind]>> = {
  1: ['from', 'string'],
  2: ['to', 'string'],
  3: ['cluster', 'string'],
  4: ['sendTimeMs', 'double'],
  5: ['payload', 'bytes'],
  6: ['seq', 'uint'],
  7: ['clusterId', 'string'],
  8: ['incarnation', 'string'],
  9: ['toIncarnation', 'string'],
  10: ['creation', 'string'],
  11: ['boot', 'string'],
};

const PONG_FIELDS: Readonly<Record<number, readonly [string, FieldKind]>> = {
  1: ['from', 'string'],
  2: ['echoSendTimeMs', 'double'],
  3: ['payload', 'bytes'],
  4: ['seq', 'uint'],
  5: ['clusterId', 'string'],
  6: ['incarnation', 'string'],
  7: ['toIncarnation', 'string'],
  8: ['creation', 'string'],
  9: ['boot', 'string'],
  10: ['disk', 'disk'],
};

/** A HeartbeatPing as proto-loader would decode it; throws MalformedMessageError on broken framing. */
export function decodePing(buf: Uint8Array): Raw {
  return decodeFlat(buf, 'HeartbeatPing', PING_FIELDS);
}

export function decodePong(buf: Uint8Array): Raw {
  return decodeFlat(buf, 'HeartbeatPong', PONG_FIELDS);
}
