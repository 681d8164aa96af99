/**
 * controller.agents.Mesh (proto/agent.proto): resources for `ctl apply|get|delete`, agents for
 * `ctl list agents`, and the agent reports controllers forward to the leader.
 */
import type * as grpc from '@grpc/grpc-js';
import { unary } from './controller-service.js';
import type { ApplyRequestMsg, DeleteResourceRequestMsg, GetResourcesRequestMsg, MeshOps, ReportAgentsRequestMsg, ReportMeshRequestMsg } from './mesh-ops.js';

export interface AgentList {
  /** Contract rows (or, local only, the live rows of this controller's agents). */
  readonly agents: readonly unknown[];
  readonly stale: boolean;
  readonly staleReason: string;
}

export interface MeshServiceDeps {
  readonly self: string;
  readonly ops: MeshOps;
  listAgents(localOnly: boolean, deadline: number): Promise<AgentList>;
  readonly defaultTimeoutMs: number;
}

export function meshService(deps: MeshServiceDeps): grpc.UntypedServiceImplementation {
  const t = deps.defaultTimeoutMs;
  return {
    Apply: unary<ApplyRequestMsg, object>((req, deadline) => deps.ops.apply(req, deadline), t),
    GetResources: unary<GetResourcesRequestMsg, object>((req, deadline) => deps.ops.get(req, deadline), t),
    DeleteResource: unary<DeleteResourceRequestMsg, object>((req, deadline) => deps.ops.delete(req, deadline), t),
    ReportAgents: unary<ReportAgentsRequestMsg, object>((req, deadline) => deps.ops.report(req, deadline), t),
    ReportMesh: unary<ReportMeshRequestMsg, object>((req, deadline) => deps.ops.reportMesh(req, deadline), t),
    ListAgents: unary<{ localOnly: boolean }, object>(async (req, deadline) => {
      const list = await deps.listAgents(req.localOnly, deadline);
      return { agents: Buffer.from(JSON.stringify(list.agents)), answeredBy: deps.self, stale: list.stale, staleReason: list.staleReason };
    }, t),
  };
}
