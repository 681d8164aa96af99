/**
 * The RaftPeer methods as this transport calls and serves them: the frequent ones (Step
 * batches, heartbeat pings and pongs) with the hand-written codecs of batch-codec.ts and
 * ping-codec.ts, the rest as proto-loader loads them, every request checked for intact
 * framing before it is decoded (strict-decode.ts). The bytes on the wire are the same either
 * way, so peers of other versions are unaffected.
 */
import type * as grpc from '@grpc/grpc-js';
import { decodeBatch, decodeStepAck, encodeBatch, encodeStepAck, type OutgoingBatch } from './batch-codec.js';
import { decodePing, decodePong, encodePing, encodePong } from './ping-codec.js';
import { strictRequests } from './strict-decode.js';
import { raftPeerMethod, raftPeerService, type RaftPeerMethod, type WirePing, type WirePong } from './wire.js';

type Raw = Record<string, unknown>;

/** What the server writes as a StepAck: an empty ack, or one carrying a batch back. */
export interface OutgoingAck {
  readonly reply: OutgoingBatch | null;
}

/**
 * Step or StepStream: the client writes OutgoingBatch values (the link builds nothing else);
 * the server reads each request as an unchecked plain object for peer-service.ts to judge.
 * The server writes OutgoingAck values; the client reads `{ reply }`, the reply unchecked.
 */
export function stepMethod(name: 'Step' | 'StepStream'): grpc.MethodDefinition<unknown, unknown> {
  return (cache[name] ??= makeStepMethod(name));
}

const cache: Partial<Record<RaftPeerMethod, grpc.MethodDefinition<unknown, unknown>>> = {};

function makeStepMethod(name: 'Step' | 'StepStream'): grpc.MethodDefinition<unknown, unknown> {
  const m = raftPeerMethod(name);
  return {
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    requestSerialize: (b: unknown) => encodeBatch(b as OutgoingBatch),
    requestDeserialize: (buf: Buffer): Raw => decodeBatch(buf),
    responseSerialize: (a: unknown) => encodeStepAck((a as Partial<OutgoingAck> | null)?.reply ?? null),
    responseDeserialize: (buf: Buffer) => decodeStepAck(buf),
  };
}

/** Heartbeat or HeartbeatStream: WirePing out, WirePong back; both read as unchecked objects. */
export function heartbeatMethod(name: 'Heartbeat' | 'HeartbeatStream'): grpc.MethodDefinition<unknown, unknown> {
  return (cache[name] ??= makeHeartbeatMethod(name));
}

function makeHeartbeatMethod(name: 'Heartbeat' | 'HeartbeatStream'): grpc.MethodDefinition<unknown, unknown> {
  const m = raftPeerMethod(name);
  return {
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    requestSerialize: (p: unknown) => encodePing(p as WirePing),
    requestDeserialize: (buf: Buffer): Raw => decodePing(buf),
    responseSerialize: (p: unknown) => encodePong(p as WirePong),
    responseDeserialize: (buf: Buffer): Raw => decodePong(buf),
  };
}

const FAST: Partial<Record<RaftPeerMethod, () => grpc.MethodDefinition<unknown, unknown>>> = {
  Step: () => stepMethod('Step'),
  StepStream: () => stepMethod('StepStream'),
  Heartbeat: () => heartbeatMethod('Heartbeat'),
  HeartbeatStream: () => heartbeatMethod('HeartbeatStream'),
};

/** The service definition a server registers the RaftPeer handlers with. */
export function peerServiceDefinition(): grpc.ServiceDefinition {
  const strict = strictRequests(raftPeerService().service);
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(strict)) {
    out[name] = FAST[name as RaftPeerMethod]?.() ?? (method as grpc.MethodDefinition<unknown, unknown>);
  }
  return out as grpc.ServiceDefinition;
}
