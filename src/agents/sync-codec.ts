/**
 * AgentSync's two messages (proto/agent.proto) by hand, both directions. A fan-out writes a push
 * to every agent of a controller and every agent answers: proto-loader's fromObject, encode,
 * decode and toObject per message were a fifth of an agent's cost of a push. The bytes are those
 * proto-loader writes (every field, defaults included, in field order) and the decoded objects
 * are those it returns (enums by name, unknown enum numbers as numbers, uint64 as numbers,
 * defaults filled), so agents and controllers of either kind talk to each other unchanged.
 *
 * A push is encoded once per plan: everything but its nonce is the same for every agent, and
 * protobuf merges concatenated encodings, so each agent's push is the shared bytes followed by
 * its nonce field (the nonce last instead of in field order; decoders see the same message).
 *
 * Decoding is strict (protobuf.ts's Reader): a field that runs past its message, a known field
 * with the wrong wire type, field number 0 or a group is a MalformedMessageError, as the
 * framing check (strict-decode.ts) made it for proto-loader.
 */
import type * as grpc from '@grpc/grpc-js';
import { boolFieldSize, bytesFieldSize, Reader, stringFieldSize, varintFieldSize, WIRE_BYTES, WIRE_VARINT, Writer } from '../transport/protobuf.js';
import { MalformedMessageError } from '../transport/strict-decode.js';
import type { AgentMessageTypeName, AgentMessageWire, ControllerMessageTypeName, ControllerMessageWire } from './wire.js';

const AGENT_TYPES: readonly AgentMessageTypeName[] = ['AGENT_MESSAGE_UNSPECIFIED', 'AGENT_MESSAGE_HELLO', 'AGENT_MESSAGE_ACK', 'AGENT_MESSAGE_NACK', 'AGENT_MESSAGE_PONG', 'AGENT_MESSAGE_USAGE'];
const CONTROLLER_TYPES: readonly ControllerMessageTypeName[] = ['CONTROLLER_MESSAGE_UNSPECIFIED', 'CONTROLLER_MESSAGE_WELCOME', 'CONTROLLER_MESSAGE_PUSH', 'CONTROLLER_MESSAGE_PING', 'CONTROLLER_MESSAGE_PUSH_PART'];

/** An AgentMessage already encoded (an ACK or a pong), written as it is. */
export type EncodedAgentMessage = Buffer;
/** What an agent writes on a Sync stream. */
export type AgentFrame = AgentMessageWire | EncodedAgentMessage;

/** A ControllerMessage already encoded (a push: shared part and nonce), written as it is. */
export type EncodedControllerMessage = Buffer;
/** What a controller writes on a Sync stream. */
export type ControllerFrame = ControllerMessageWire | EncodedControllerMessage;

function enumNumber(value: string | number, names: readonly string[], what: string): number {
  if (typeof value === 'number') return value;
  const n = names.indexOf(value);
  if (n < 0) throw new Error(`invariant: ${what} ${value} is not in proto/agent.proto`);
  return n;
}

function enumName<T extends string>(n: number, names: readonly T[]): T | number {
  return names[n] ?? n;
}

function uint(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`invariant: ${what} must be a whole number, found ${v}`);
  return v;
}

// ---- AgentMessage ------------------------------------------------------------------------------------

export function encodeAgentWire(m: AgentMessageWire): Buffer {
  const type = enumNumber(m.type, AGENT_TYPES, 'AgentMessage.type');
  const w = new Writer(
    varintFieldSize(1, type) +
      stringFieldSize(2, m.agentId) +
      stringFieldSize(3, m.clusterId) +
      boolFieldSize(4, m.hasConfig) +
      varintFieldSize(5, uint(m.version, 'version')) +
      varintFieldSize(6, uint(m.nonce, 'nonce')) +
      stringFieldSize(7, m.error) +
      varintFieldSize(8, uint(m.seq, 'seq')) +
      bytesFieldSize(9, m.body) +
      varintFieldSize(10, uint(m.rejectedVersion, 'rejectedVersion')) +
      boolFieldSize(11, m.pushParts) +
      stringFieldSize(12, m.clusterName) +
      (m.heldClusterOnly === undefined ? 0 : boolFieldSize(13, m.heldClusterOnly)),
  );
  w.uintField(1, type);
  w.stringField(2, m.agentId);
  w.stringField(3, m.clusterId);
  w.boolField(4, m.hasConfig);
  w.uintField(5, m.version);
  w.uintField(6, m.nonce);
  w.stringField(7, m.error);
  w.uintField(8, m.seq);
  w.bytesField(9, m.body);
  w.uintField(10, m.rejectedVersion);
  w.boolField(11, m.pushParts);
  w.stringField(12, m.clusterName);
  // Written when set, as proto-loader writes a field the object has (every message this side builds has it).
  if (m.heldClusterOnly !== undefined) w.boolField(13, m.heldClusterOnly);
  return w.done();
}

/**
 * Fields 2-4 of an ACK or a pong (empty agent id and cluster id, has_config false), then fields
 * 7-13 (empty error, seq written apart, empty body, rejected_version 0, push_parts false, empty
 * cluster name, held_cluster_only false): every default written, as encodeAgentWire writes them.
 */
const REPLY_AFTER_TYPE = Buffer.from([0x12, 0, 0x1a, 0, 0x20, 0]);
const REPLY_AFTER_SEQ = Buffer.from([0x4a, 0, 0x50, 0, 0x58, 0, 0x62, 0, 0x68, 0]);

/**
 * An ACK (type 2) or a pong (type 4) straight to its bytes: the same bytes as encodeAgentWire of
 * the message, without building the message's object of every field first. An agent writes
 * one for every push and every ping it takes.
 */
export function encodeAgentReply(type: 2 | 4, version: number, nonce: number, seq: number): EncodedAgentMessage {
  const w = new Writer(2 + REPLY_AFTER_TYPE.length + varintFieldSize(5, uint(version, 'version')) + varintFieldSize(6, uint(nonce, 'nonce')) + 2 + varintFieldSize(8, uint(seq, 'seq')) + REPLY_AFTER_SEQ.length);
  w.uintField(1, type);
  w.buf.set(REPLY_AFTER_TYPE, w.pos);
  w.pos += REPLY_AFTER_TYPE.length;
  w.uintField(5, version);
  w.uintField(6, nonce);
  w.buf[w.pos++] = 0x3a; // field 7, the error: empty
  w.buf[w.pos++] = 0;
  w.uintField(8, seq);
  w.buf.set(REPLY_AFTER_SEQ, w.pos);
  w.pos += REPLY_AFTER_SEQ.length;
  return w.done();
}

const EMPTY = Buffer.alloc(0);

function expectWire(field: number, wire: number, expected: number, message: string): void {
  if (wire !== expected) throw new MalformedMessageError(`malformed protobuf: ${message} field ${field} has wire type ${wire}, expected ${expected}`);
}

export function decodeAgentWire(buf: Uint8Array): AgentMessageWire {
  const r = new Reader(buf);
  let type = 0;
  let agentId = '';
  let clusterId = '';
  let hasConfig = false;
  let version = 0;
  let nonce = 0;
  let error = '';
  let seq = 0;
  let body: Uint8Array = EMPTY;
  let rejectedVersion = 0;
  let pushParts = false;
  let clusterName = '';
  let heldClusterOnly = false;
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
      case 4:
      case 5:
      case 6:
      case 8:
      case 10:
      case 11:
      case 13: {
        expectWire(field, wire, WIRE_VARINT, 'AgentMessage');
        const v = r.varint();
        if (field === 1) type = v;
        else if (field === 4) hasConfig = v !== 0;
        else if (field === 5) version = v;
        else if (field === 6) nonce = v;
        else if (field === 8) seq = v;
        else if (field === 10) rejectedVersion = v;
        else if (field === 11) pushParts = v !== 0;
        else heldClusterOnly = v !== 0;
        break;
      }
      case 2:
      case 3:
      case 7:
      case 12:
        expectWire(field, wire, WIRE_BYTES, 'AgentMessage');
        if (field === 2) agentId = r.string(field);
        else if (field === 3) clusterId = r.string(field);
        else if (field === 12) clusterName = r.string(field);
        else error = r.string(field);
        break;
      case 9:
        expectWire(field, wire, WIRE_BYTES, 'AgentMessage');
        body = r.bytes(field);
        break;
      default:
        r.skipUnknownField(field, wire);
    }
  }
  return { type: enumName(type, AGENT_TYPES), agentId, clusterId, hasConfig, version, nonce, error, seq, body, rejectedVersion, pushParts, clusterName, heldClusterOnly };
}

// ---- ControllerMessage -------------------------------------------------------------------------------

export function encodeControllerWire(m: ControllerMessageWire): Buffer {
  return encodeController(m, true);
}

/** A push's bytes but its nonce: every other field of `m`, in field order. */
export function encodePushShared(m: ControllerMessageWire): Buffer {
  return encodeController(m, false);
}

function encodeController(m: ControllerMessageWire, nonceField: boolean): Buffer {
  const type = enumNumber(m.type, CONTROLLER_TYPES, 'ControllerMessage.type');
  const w = new Writer(
    varintFieldSize(1, type) +
      stringFieldSize(2, m.controller) +
      stringFieldSize(3, m.clusterId) +
      stringFieldSize(4, m.session) +
      varintFieldSize(5, uint(m.pingIntervalMs, 'pingIntervalMs')) +
      varintFieldSize(6, uint(m.timeoutMs, 'timeoutMs')) +
      (nonceField ? varintFieldSize(7, uint(m.nonce, 'nonce')) : 0) +
      varintFieldSize(8, uint(m.version, 'version')) +
      boolFieldSize(9, m.full) +
      varintFieldSize(10, uint(m.baseVersion, 'baseVersion')) +
      bytesFieldSize(11, m.body) +
      varintFieldSize(12, uint(m.seq, 'seq')) +
      varintFieldSize(13, uint(m.parts, 'parts')) +
      stringFieldSize(14, m.clusterName),
  );
  w.uintField(1, type);
  w.stringField(2, m.controller);
  w.stringField(3, m.clusterId);
  w.stringField(4, m.session);
  w.uintField(5, m.pingIntervalMs);
  w.uintField(6, m.timeoutMs);
  if (nonceField) w.uintField(7, m.nonce);
  w.uintField(8, m.version);
  w.boolField(9, m.full);
  w.uintField(10, m.baseVersion);
  w.bytesField(11, m.body);
  w.uintField(12, m.seq);
  w.uintField(13, m.parts);
  w.stringField(14, m.clusterName);
  return w.done();
}

/** The shared bytes of a push followed by this agent's nonce. */
export function withNonce(shared: Buffer, nonce: number): EncodedControllerMessage {
  const w = new Writer(shared.length + varintFieldSize(7, uint(nonce, 'nonce')));
  w.buf.set(shared, 0);
  w.pos = shared.length;
  w.uintField(7, nonce);
  return w.done();
}

export function decodeControllerWire(buf: Uint8Array): ControllerMessageWire {
  const r = new Reader(buf);
  let type = 0;
  let controller = '';
  let clusterId = '';
  let session = '';
  let pingIntervalMs = 0;
  let timeoutMs = 0;
  let nonce = 0;
  let version = 0;
  let full = false;
  let baseVersion = 0;
  let body: Uint8Array = EMPTY;
  let seq = 0;
  let parts = 0;
  let clusterName = '';
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
      case 5:
      case 6:
      case 7:
      case 8:
      case 9:
      case 10:
      case 12:
      case 13: {
        expectWire(field, wire, WIRE_VARINT, 'ControllerMessage');
        const v = r.varint();
        if (field === 1) type = v;
        // uint32 fields: protobufjs keeps the low 32 bits of a longer varint.
        else if (field === 5) pingIntervalMs = v % 2 ** 32;
        else if (field === 6) timeoutMs = v % 2 ** 32;
        else if (field === 7) nonce = v;
        else if (field === 8) version = v;
        else if (field === 9) full = v !== 0;
        else if (field === 10) baseVersion = v;
        else if (field === 12) seq = v;
        else parts = v % 2 ** 32;
        break;
      }
      case 2:
      case 3:
      case 4:
        expectWire(field, wire, WIRE_BYTES, 'ControllerMessage');
        if (field === 2) controller = r.string(field);
        else if (field === 3) clusterId = r.string(field);
        else session = r.string(field);
        break;
      case 11:
        expectWire(field, wire, WIRE_BYTES, 'ControllerMessage');
        body = r.bytes(field);
        break;
      case 14:
        expectWire(field, wire, WIRE_BYTES, 'ControllerMessage');
        clusterName = r.string(field);
        break;
      default:
        r.skipUnknownField(field, wire);
    }
  }
  return { type: enumName(type, CONTROLLER_TYPES), controller, clusterId, session, pingIntervalMs, timeoutMs, nonce, version, full, baseVersion, body, seq, parts, clusterName };
}

// ---- the service -------------------------------------------------------------------------------------

const SYNC_PATH = '/controller.agents.AgentSync/Sync';

/** AgentSync.Sync with these codecs: what controllers serve and agents call. */
export const SYNC_METHOD: grpc.MethodDefinition<AgentFrame, ControllerFrame> & {
  readonly requestDeserialize: (b: Buffer) => AgentMessageWire;
  readonly responseDeserialize: (b: Buffer) => ControllerMessageWire;
} = {
  path: SYNC_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: (m: AgentFrame) => (Buffer.isBuffer(m) ? m : encodeAgentWire(m)),
  requestDeserialize: decodeAgentWire,
  responseSerialize: (m: ControllerFrame) => (Buffer.isBuffer(m) ? m : encodeControllerWire(m)),
  responseDeserialize: decodeControllerWire,
  originalName: 'sync',
};

export const AGENT_SYNC_SERVICE: grpc.ServiceDefinition = { Sync: SYNC_METHOD as grpc.MethodDefinition<unknown, unknown> };
