/**
 * The client side of controller.agents.Mesh (proto/agent.proto): the service definition,
 * parsed once per process, and its methods.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProto, lookupService } from '../transport/proto.js';

export type MeshMethod = 'Apply' | 'GetResources' | 'DeleteResource' | 'ListAgents' | 'ReportAgents' | 'ReportMesh';

let definition: grpc.ServiceClientConstructor | null = null;

export function meshServiceDefinition(): grpc.ServiceClientConstructor {
  definition ??= lookupService(loadProto('agent.proto'), 'controller.agents.Mesh');
  return definition;
}

export function meshMethod(name: MeshMethod): grpc.MethodDefinition<unknown, unknown> {
  const method = meshServiceDefinition().service[name];
  if (method === undefined) throw new Error(`unreachable: controller.agents.Mesh has no method ${name}`);
  return method;
}

/**
 * A unary call on a channel, with a deadline; rejects with the gRPC error as it came. `signal`:
 * the call is cancelled when it aborts (it then rejects as CANCELLED).
 */
export function meshUnary(channel: grpc.Client, method: MeshMethod, request: object, deadline: number, signal?: AbortSignal): Promise<unknown> {
  const def = meshMethod(method);
  return new Promise((resolve, reject) => {
    const call = channel.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline }, (err, value) => {
      signal?.removeEventListener('abort', cancel);
      if (err) reject(err);
      else resolve(value);
    });
    function cancel(): void {
      call.cancel();
    }
    if (signal?.aborted === true) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
