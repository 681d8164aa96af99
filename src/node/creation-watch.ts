/**
 * The driver of identity/creation-check.ts: while a node that bootstrapped has no cluster id, it
 * asks the peers it has not heard create the cluster from the same nodes, every `intervalMs`,
 * and stops the node (NODES_DIFFER, exit 2) when one creates it from other nodes.
 */
import { judgeCreation, StartupRefusedError, type InitialNodes, type PeerAnswer } from '../identity/index.js';

/** Half a default heartbeat interval's worth of waiting between rounds: well inside the first election. */
export const CREATION_CHECK_INTERVAL_MS = 250;

export interface CreationWatchOptions {
  readonly nodes: InitialNodes;
  /** The peers to ask, by id. */
  readonly peers: readonly string[];
  /** Asks these peers the start-up question. */
  readonly ask: (peers: readonly string[]) => Promise<PeerAnswer[]>;
  /** Whether the cluster has its id: the creation is over. */
  readonly established: () => boolean;
  readonly onDiffer: (err: StartupRefusedError) => void;
  readonly intervalMs: number;
}

export function watchCreation(opts: CreationWatchOptions): { stop(): void } {
  let waiting = [...opts.peers];
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const round = async (): Promise<void> => {
    timer = null;
    if (stopped || waiting.length === 0 || opts.established()) return;
    const answers = await opts.ask(waiting);
    if (stopped || opts.established()) return;
    const verdict = judgeCreation(opts.nodes, answers);
    if (verdict.kind === 'differs') {
      stopped = true;
      opts.onDiffer(new StartupRefusedError('NODES_DIFFER', verdict.message));
      return;
    }
    waiting = waiting.filter((p) => !verdict.confirmed.includes(p));
    schedule();
  };
  const schedule = (): void => {
    if (stopped || waiting.length === 0) return;
    timer = setTimeout(() => void round(), opts.intervalMs);
    timer.unref();
  };
  void round();
  return {
    stop(): void {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
