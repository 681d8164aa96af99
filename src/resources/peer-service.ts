/**
 * The server half of controller.peer.MemberResources: a member answers with this machine's
 * figures. The caller passes the checks every peer RPC gets (src/transport/peer-service.ts): a
 * peer certificate of the member it claims to be (with TLS), and the identity envelope of a
 * member of this cluster (src/identity); what the figures say is nobody else's business.
 */
import * as grpc from '@grpc/grpc-js';
import { REFUSAL_METADATA_KEY, type PeerEnvelope, type Refusal } from '../identity/index.js';
import type { PeerAuth, TransportIdentity } from '../transport/index.js';
import { describe, isRecord } from '../util/untrusted.js';
import { errorMessage } from '../util/error-message.js';
import type { MachineReading } from './types.js';
import { toWire, type MachineResourcesMsg } from './wire.js';

export interface ResourcesServiceContext {
  readonly self: string;
  readonly auth: PeerAuth;
  readonly identity: Pick<TransportIdentity, 'judgePing' | 'onRefused'>;
  readonly read: (includeStatic: boolean) => Promise<MachineReading>;
  /** This member's controller.min_free_disk_bytes, sent with its figures for the leader's check (src/api/disk-floor.ts); absent: 0. */
  readonly minFreeDiskBytes?: number;
}

function text(raw: Readonly<Record<string, unknown>>, key: string): string {
  const v = raw[key];
  return typeof v === 'string' ? v : '';
}

function refusalStatus(r: Refusal): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(REFUSAL_METADATA_KEY, r.code);
  return { code: grpc.status.PERMISSION_DENIED, details: errorMessage(`${r.code}: ${r.reason}`), metadata };
}

export function memberResourcesHandlers(ctx: ResourcesServiceContext): grpc.UntypedServiceImplementation {
  return {
    Describe: (call: grpc.ServerUnaryCall<unknown, MachineResourcesMsg>, callback: grpc.sendUnaryData<MachineResourcesMsg>) => {
      const raw = isRecord(call.request) ? call.request : {};
      const from = raw['from'];
      if (typeof from !== 'string' || from === '') {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `from: expected the sender's member id, found ${describe(from)}` });
        return;
      }
      const env: PeerEnvelope = { clusterName: raw['cluster'], clusterId: text(raw, 'clusterId'), from, incarnation: text(raw, 'incarnation'), toIncarnation: text(raw, 'toIncarnation'), creation: text(raw, 'creation'), boot: text(raw, 'boot') };
      const refusal = ctx.auth.check(call, from) ?? ctx.identity.judgePing(env);
      if (refusal !== null) {
        ctx.identity.onRefused(from, refusal);
        callback(refusalStatus(refusal));
        return;
      }
      if (raw['to'] !== ctx.self) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `misdirected: expected to=${JSON.stringify(ctx.self)}, found ${describe(raw['to'])}` });
        return;
      }
      ctx.read(raw['includeStatic'] === true).then(
        (reading) => callback(null, toWire(ctx.self, reading, ctx.minFreeDiskBytes ?? 0)),
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: errorMessage(`${ctx.self} cannot read its resources: ${err instanceof Error ? err.message : String(err)}`) }),
      );
    },
  };
}
