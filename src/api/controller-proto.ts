/**
 * The client side of controller.api.Controller as proto/controller.proto defines it: the
 * service definition (parsed once per process), its methods, and the channel options every
 * client of it uses.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';
import { MAX_SEND_MESSAGE_BYTES } from '../transport/message-limits.js';

export type ControllerMethod =
  | 'Put'
  | 'Get'
  | 'Delete'
  | 'ListControllers'
  | 'Status'
  | 'MemberAdd'
  | 'MemberPromote'
  | 'MemberRemove'
  | 'LeaderTransfer'
  | 'Audit'
  | 'KvSession'
  | 'ConfigGet'
  | 'ConfigSet'
  | 'Health'
  | 'Resources';

let definition: grpc.ServiceClientConstructor | null = null;

/** controller.api.Controller as loaded from proto/controller.proto (parsed once per process). */
export function controllerServiceDefinition(): grpc.ServiceClientConstructor {
  definition ??= lookupService(loadProto('controller.proto'), 'controller.api.Controller');
  return definition;
}

export function controllerMethod(name: ControllerMethod): grpc.MethodDefinition<unknown, unknown> {
  const method = controllerServiceDefinition().service[name];
  if (method === undefined) throw new Error(`unreachable: controller.api.Controller has no method ${name}`);
  return method;
}

/**
 * channelz bookkeeping costs CPU on every call, and nothing reads it. A refused connection puts
 * a channel in a reconnect backoff that grows to 120 s by default: an endpoint that comes back
 * (a restarted controller) is retried within a second instead. Each channel keeps connections of
 * its own: grpc-js shares them between channels of one address and options in a process, and a
 * new client whose shared connection was in back-off (another client refused there a moment
 * ago) failed its first call at once, "No connection established. Last error: null", its
 * endpoint up.
 */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.enable_channelz': 0,
  // As large as the server sends (a whole mesh in `ctl get`, every agent in `list agents`).
  'grpc.max_receive_message_length': MAX_SEND_MESSAGE_BYTES,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.use_local_subchannel_pool': 1,
};
