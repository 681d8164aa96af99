/**
 * The RaftPeer service as loaded from proto/peer.proto, and the shapes of its envelopes
 * (everything but RaftMessage itself, which codec.ts owns).
 */
import type * as grpc from '@grpc/grpc-js';
import type { ProtoMessage } from './codec.js';
import { loadProto, lookupService } from './proto.js';

export interface WireBatch {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly messages: readonly ProtoMessage[];
}

export interface WireChunk {
  readonly cluster?: string;
  readonly envelope?: ProtoMessage;
  readonly totalSize?: number;
  readonly data: Uint8Array;
}

export interface WirePing {
  readonly from: string;
  readonly to: string;
  readonly cluster: string;
  readonly sendTimeMs: number;
  readonly payload: Uint8Array;
  /** HeartbeatStream only: echoed in the pong. */
  readonly seq?: number;
}

export interface WirePong {
  readonly from: string;
  readonly echoSendTimeMs: number;
  readonly payload: Uint8Array;
  readonly seq?: number;
}

export type RaftPeerMethod = 'Step' | 'StepStream' | 'InstallSnapshot' | 'Heartbeat' | 'HeartbeatStream';

let service: grpc.ServiceClientConstructor | null = null;

/** Loaded once per process: parsing the proto is the slow part. */
export function raftPeerService(): grpc.ServiceClientConstructor {
  service ??= lookupService(loadProto('peer.proto'), 'controller.peer.RaftPeer');
  return service;
}

export function raftPeerMethod(name: RaftPeerMethod): grpc.MethodDefinition<unknown, unknown> {
  const method = raftPeerService().service[name];
  if (method === undefined) throw new Error(`unreachable: RaftPeer has no method ${name}`);
  return method;
}

export { isRecord, describe as describeValue } from '../util/untrusted.js';
