/**
 * The RaftPeer service as loaded from proto/peer.proto, and the shapes of its envelopes
 * (everything but RaftMessage itself, which codec.ts owns).
 */
import type * as grpc from '@grpc/grpc-js';
import type { ProtoMessage } from './codec.js';
import { loadProto, lookupService } from './proto.js';

/** The sender's identity on every envelope ('' before it has one; see src/identity). */
export interface WireIdentity {
  readonly clusterId: string;
  readonly incarnation: string;
  readonly toIncarnation: string;
  /** The digest of the nodes the sender bootstrapped from ('' when none; src/identity/initial-nodes.ts). */
  readonly creation: string;
  /** The sender's process, drawn at its start ('' from an older version; src/identity/process-claims.ts). */
  readonly boot: string;
}

export interface WireBatch extends WireIdentity {
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
  readonly clusterId?: string;
  readonly incarnation?: string;
  readonly toIncarnation?: string;
  readonly creation?: string;
  readonly boot?: string;
}

export interface WirePing extends WireIdentity {
  readonly from: string;
  readonly to: string;
  readonly cluster: string;
  readonly sendTimeMs: number;
  readonly payload: Uint8Array;
  /** HeartbeatStream only: echoed in the pong. */
  readonly seq?: number;
}

export interface WirePong extends WireIdentity {
  readonly from: string;
  readonly echoSendTimeMs: number;
  readonly payload: Uint8Array;
  readonly seq?: number;
  /** The answerer's disk (PeerDisk); null or absent: not said (an older member, or no reading yet). */
  readonly disk?: WireDisk | null;
}

/** A member's data dir disk as its pongs carry it (the leader's disk floor, voter-disks.ts). */
export interface WireDisk {
  readonly freeBytes: number;
  /** Its controller.min_free_disk_bytes; 0: off. */
  readonly floorBytes: number;
}

export interface WireHelloRequest {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly incarnation: string;
  readonly clusterId: string;
  readonly lastIndex: number;
  readonly joining: boolean;
  readonly nodes: string;
}

export interface WireHelloResponse {
  readonly memberId: string;
  readonly incarnation: string;
  readonly clusterId: string;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  readonly youMember: boolean;
  readonly youRole: string;
  readonly youRecorded: string;
  readonly youHeard: string;
  readonly youRemoved: boolean;
  readonly nodes: string;
  readonly youAddress: string;
  /** The answerer's raft timing; 0 when not said (an older version). */
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** A member's raft.election_timeout and raft.heartbeat_interval, as it says them in its Hello answers. */
export interface WireRaftTiming {
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

export interface WireStatusReport extends WireIdentity {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly member: string;
  readonly status: string;
  readonly reason: string;
}

export type RaftPeerMethod = 'Step' | 'StepStream' | 'InstallSnapshot' | 'Heartbeat' | 'HeartbeatStream' | 'Hello' | 'ReportStatus';

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
export type { JsonRecord as Raw } from '../util/untrusted.js';

/** A string field of a received message, '' when absent or of another type. */
export function stringField(raw: Readonly<Record<string, unknown>>, key: string): string {
  const v = raw[key];
  return typeof v === 'string' ? v : '';
}
