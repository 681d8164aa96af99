/**
 * controller.agents.Mesh (proto/agent.proto): resources for `ctl apply|get|delete`, agents for
 * `ctl list agents`, and the agent reports controllers forward to the leader.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../util/error-message.js';
import type { Refusal } from '../identity/index.js';
import type { AuthenticatedCall } from '../transport/peer-auth.js';
import { meshOwned, type OwnerOf } from './caller-owner.js';
import { unaryHandler as unary } from './unary-handler.js';
import type { ApplyRequestMsg, DeleteResourceRequestMsg, GetResourcesRequestMsg, MeshOps, ReportAgentsRequestMsg, ReportMeshRequestMsg } from './mesh-ops.js';

export interface AgentList {
  /** Contract rows (or, local only, the live rows of this controller's agents). */
  readonly agents: readonly unknown[];
  /** The standing of `list controllers` (MembershipEngine.view): its records may be behind the cluster's. */
  readonly stale: boolean;
  readonly staleReason: string;
}

export interface MeshServiceDeps {
  readonly self: string;
  readonly ops: MeshOps;
  listAgents(localOnly: boolean, deadline: number): Promise<AgentList>;
  readonly defaultTimeoutMs: number;
  /** Null when the caller presents a controller's peer certificate (always, without TLS). */
  readonly peerCaller: (call: AuthenticatedCall) => Refusal | null;
  /** Whose exactly-once record a write makes (caller-owner.ts); absent: none, whatever a request claims. */
  readonly ownerOf?: OwnerOf;
}

export function meshService(deps: MeshServiceDeps): grpc.UntypedServiceImplementation {
  const t = deps.defaultTimeoutMs;
  const ownerOf: OwnerOf = deps.ownerOf ?? (() => undefined);
  const report = unary<ReportAgentsRequestMsg, object>((req, deadline) => deps.ops.report(req, deadline), t);
  const reportMesh = unary<ReportMeshRequestMsg, object>((req, deadline) => deps.ops.reportMesh(req, deadline), t);
  /** Controller-to-controller calls: refused unless the caller presents a controller's peer certificate. */
  const peersOnly =
    <Req>(method: string, handler: grpc.handleUnaryCall<Req, object>): grpc.handleUnaryCall<Req, object> =>
    (call, cb) => {
      const refusal = deps.peerCaller(call);
      if (refusal !== null) {
        cb({ code: grpc.status.PERMISSION_DENIED, details: errorMessage(`${refusal.code}: ${method} is a controller-to-controller call, for peer certificates only: ${refusal.reason}`) });
        return;
      }
      handler(call, cb);
    };
  return {
    Apply: unary<ApplyRequestMsg, object>((req, deadline, call) => deps.ops.apply(meshOwned(req, ownerOf(call, req.clientOwner ?? '', req.forwarded)), deadline), t),
    GetResources: unary<GetResourcesRequestMsg, object>((req, deadline) => deps.ops.get(req, deadline), t),
    DeleteResource: unary<DeleteResourceRequestMsg, object>((req, deadline, call) => deps.ops.delete(meshOwned(req, ownerOf(call, req.clientOwner ?? '', req.forwarded)), deadline), t),
    // Controller-to-controller calls (forwarded to the leader like a write): only controllers'
    // peer certificates may make them, or any client could report agents (or publish services,
    // or record dependencies) on a member's behalf.
    ReportAgents: peersOnly('ReportAgents', report),
    ReportMesh: peersOnly('ReportMesh', reportMesh),
    ListAgents: unary<{ localOnly: boolean }, object>(async (req, deadline) => {
      const list = await deps.listAgents(req.localOnly, deadline);
      return { agents: Buffer.from(JSON.stringify(list.agents)), answeredBy: deps.self, stale: list.stale, staleReason: list.staleReason };
    }, t),
  };
}
