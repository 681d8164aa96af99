/** What the orchestration needs from a system under test (ours or etcd). */
import type { KvTarget } from './workloads.js';

export type SystemName = 'ours' | 'etcd';

export interface FailoverSample {
  /** SIGKILL of the leader to the first acknowledged write through a survivor. */
  readonly ms: number;
  readonly oldLeader: string;
  readonly newLeader: string;
}

export interface BenchCluster {
  readonly system: SystemName;
  readonly size: number;
  /** A target whose clients talk to the current leader. */
  target(): Promise<KvTarget>;
  failover(): Promise<FailoverSample>;
  /** Resident memory of each running member, MB. */
  rssMB(): number[];
  pids(): number[];
  stop(): Promise<void>;
}

export interface SystemDriver {
  readonly name: SystemName;
  start(nodes: number): Promise<BenchCluster>;
}
