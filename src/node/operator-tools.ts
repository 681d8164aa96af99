/**
 * Wires the operator tools into a controller: the state machine's apply path feeds the watch
 * hub and the apply metrics, and the Operator service is served beside Controller.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ConsensusPort } from '../api/consensus-port.js';
import type { OpenStreams } from '../api/open-streams.js';
import { operatorService, type OperatorServiceDeps } from '../api/operator-service.js';
import { operatorServiceDefinition } from '../api/operator-proto.js';
import { WatchLimits } from '../api/watch-limits.js';
import { strictRequests } from '../transport/strict-decode.js';
import { directoryBytes } from './disk-usage.js';
import type { ObservedStateMachine } from './observed-state-machine.js';
import { WatchHub } from './watch-hub.js';
import type { WatchMetrics } from './watch-metrics.js';

export interface ApplyMetrics {
  observeApply(seconds: number): void;
}

/** Call before the Raft host restores a snapshot into `sm`, so the hub sees every change after it. */
export function watchApplies(sm: ObservedStateMachine, metrics: ApplyMetrics): WatchHub {
  const hub = new WatchHub(sm.revision());
  sm.observe({
    onApply: (_index, data, _result, changed, seconds) => {
      metrics.observeApply(seconds);
      if (changed) hub.recordChange(sm.revision(), data);
    },
    onRestore: (revision) => hub.reset(revision),
  });
  return hub;
}

export interface OperatorToolsDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly clusterId: () => string | null;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: ObservedStateMachine;
  readonly watches: WatchHub;
  /** Counts refused and cut-off watches and reads the open ones and their undrained bytes. */
  readonly watchMetrics: WatchMetrics;
  readonly raftDbDir: string;
  readonly staleness: () => { readonly stale: boolean; readonly reason: string };
  readonly duplicate: (id: string) => boolean;
  readonly otherClusters?: OperatorServiceDeps['otherClusters'];
  readonly diskShortfall?: OperatorServiceDeps['diskShortfall'];
  readonly defaultTimeoutMs: number;
  /** Why this node cannot serve a linearizable read now (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
  /** Where watches register so a stopping controller ends them with SHUTTING_DOWN. */
  readonly openStreams?: OpenStreams;
}

export function addOperatorService(server: grpc.Server, deps: OperatorToolsDeps): void {
  const watchLimits = new WatchLimits({}, () => performance.now(), deps.watchMetrics);
  deps.watchMetrics.bind(watchLimits);
  server.addService(
    strictRequests(operatorServiceDefinition().service),
    operatorService({
      id: deps.id,
      clusterName: deps.clusterName,
      clusterId: deps.clusterId,
      version: deps.version,
      host: deps.host,
      stateMachine: deps.stateMachine,
      staleness: deps.staleness,
      duplicate: deps.duplicate,
      otherClusters: deps.otherClusters,
      ...(deps.diskShortfall === undefined ? {} : { diskShortfall: deps.diskShortfall }),
      dbSizeBytes: () => directoryBytes(deps.raftDbDir),
      watches: deps.watches,
      watchLimits,
      defaultTimeoutMs: deps.defaultTimeoutMs,
      ...(deps.cutOff === undefined ? {} : { cutOff: deps.cutOff }),
      ...(deps.openStreams === undefined ? {} : { openStreams: deps.openStreams }),
    }),
  );
}
