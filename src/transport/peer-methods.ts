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
  return handCoded(name, {
    encodeRequest: (b) => encodeBatch(b as OutgoingBatch),
    decodeRequest: decodeBatch,
    encodeResponse: (a) => encodeStepAck((a as Partial<OutgoingAck> | null)?.reply ?? null),
    decodeResponse: decodeStepAck,
  });
}

/** Heartbeat or HeartbeatStream: WirePing out, WirePong back; both read as unchecked objects. */
export function heartbeatMethod(name: 'Heartbeat' | 'HeartbeatStream'): grpc.MethodDefinition<unknown, unknown> {
  return (cache[name] ??= makeHeartbeatMethod(name));
}

function makeHeartbeatMethod(name: 'Heartbeat' | 'HeartbeatStream'): grpc.MethodDefinition<unknown, unknown> {
  return handCoded(name, {
    encodeRequest: (p) => encodePing(p as WirePing),
    decodeRequest: decodePing,
    encodeResponse: (p) => encodePong(p as WirePong),
    decodeResponse: decodePong,
  });
}

/** A RaftPeer method's path and streaming as the proto declares them, with our own codecs. */
function handCoded(
  name: RaftPeerMethod,
  codec: {
    readonly encodeRequest: (value: unknown) => Buffer;
    readonly decodeRequest: (buf: Buffer) => unknown;
    readonly encodeResponse: (value: unknown) => Buffer;
    readonly decodeResponse: (buf: Buffer) => unknown;
  },
): grpc.MethodDefinition<unknown, unknown> {
  const m = raftPeerMethod(name);
  return {
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    requestSerialize: codec.encodeRequest,
    requestDeserialize: codec.decodeRequest,
    responseSerialize: codec.encodeResponse,
    responseDeserialize: codec.decodeResponse,
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
