/**
 * The server half of controller.peer.MemberResources: a member answers with this machine's
 * figures. Only a member of this cluster, addressing this node, is answered; what the figures
 * say is nobody else's business.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, isRecord } from '../util/untrusted.js';
import type { MachineReading } from './types.js';
import { toWire, type MachineResourcesMsg } from './wire.js';

export interface ResourcesServiceContext {
  readonly self: string;
  readonly clusterName: string;
  readonly isKnownPeer: (id: string) => boolean;
  readonly read: (includeStatic: boolean) => Promise<MachineReading>;
}

function refusal(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

export function memberResourcesHandlers(ctx: ResourcesServiceContext): grpc.UntypedServiceImplementation {
  return {
    Describe: (call: grpc.ServerUnaryCall<unknown, MachineResourcesMsg>, callback: grpc.sendUnaryData<MachineResourcesMsg>) => {
      const raw = isRecord(call.request) ? call.request : {};
      if (raw['cluster'] !== ctx.clusterName) {
        callback(refusal(grpc.status.PERMISSION_DENIED, `cluster name mismatch: expected ${JSON.stringify(ctx.clusterName)}, found ${describe(raw['cluster'])}`));
        return;
      }
      const from = raw['from'];
      if (typeof from !== 'string' || from === '' || !ctx.isKnownPeer(from)) {
        callback(refusal(grpc.status.PERMISSION_DENIED, `unknown sender: expected a member of cluster ${JSON.stringify(ctx.clusterName)}, found ${describe(from)}`));
        return;
      }
      if (raw['to'] !== ctx.self) {
        callback(refusal(grpc.status.INVALID_ARGUMENT, `misdirected: expected to=${JSON.stringify(ctx.self)}, found ${describe(raw['to'])}`));
        return;
      }
      ctx.read(raw['includeStatic'] === true).then(
        (reading) => callback(null, toWire(ctx.self, reading)),
        (err: unknown) =>
          callback(
            refusal(grpc.status.INTERNAL, `${ctx.self} cannot read its resources: ${err instanceof Error ? err.message : String(err)}`),
          ),
      );
    },
  };
}

