/**
 * controller.api.Operator (proto/controller.proto): the operator tools' service beside
 * Controller on the same port, and the JSON shapes of its answers.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';

/** Keys per Range answer: the default, and the most a client may ask for. */
export const DEFAULT_RANGE_LIMIT = 1_000;
export const MAX_RANGE_LIMIT = 10_000;
/** Bytes of keys and values per Range answer, well under gRPC's 4 MiB message limit. */
export const MAX_RANGE_BYTES = 3 * 1024 * 1024;

/** One member in MemberList: the server's message and the client's `ctl member list -o json` row. */
export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  readonly role: 'voter' | 'learner';
  readonly status: 'online' | 'offline';
  /** A learner the leader promotes by itself once it has caught up. */
  readonly autoPromote: boolean;
  readonly leader: boolean;
  /** The answering node hears two processes as this member (a copied data dir): not a committed fact. */
  readonly duplicateProcess: boolean;
}

/** What a snapshot file and SnapshotSave's first message say about the snapshot. */
export interface SnapshotHeader {
  readonly index: number;
  readonly term: number;
  readonly revision: number;
  readonly size: number;
  readonly cluster: string;
  readonly takenBy: string;
  readonly version: string;
  readonly createdAt: string;
}

export type OperatorMethod = 'MemberList' | 'EndpointStatus' | 'Range' | 'Watch' | 'SnapshotSave';

let definition: grpc.ServiceClientConstructor | null = null;

export function operatorServiceDefinition(): grpc.ServiceClientConstructor {
  definition ??= lookupService(loadProto('controller.proto'), 'controller.api.Operator');
  return definition;
}

export function operatorMethod(name: OperatorMethod): grpc.MethodDefinition<unknown, unknown> {
  const method = operatorServiceDefinition().service[name];
  if (method === undefined) throw new Error(`unreachable: controller.api.Operator has no method ${name}`);
  return method;
}
