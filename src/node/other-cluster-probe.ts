/**
 * Asks the cluster file's peers that are not in this node's membership, now and then, which
 * cluster they answer for (the start-up question, Hello, which any running controller answers).
 * Members talk to each other, and a member of another cluster refuses them as CLUSTER_ID; peers
 * of the file alone do not: a restore run on every member leaves one-member clusters that never
 * exchange a message (attack round 10's B1, case a), each calling itself healthy. The answers
 * feed NodeIdentity.answeredFor (other-cluster-peers.ts).
 */
import type { HelloAsk, PeerAnswer } from '../identity/index.js';
import type { HelloTarget } from '../transport/hello-client.js';

export interface OtherClusterProbeDeps {
  /** The file's peers outside this node's membership, at their file addresses. */
  readonly targets: () => readonly HelloTarget[];
  /** What this node says of its data dir; null while it holds no cluster id (nothing to compare). */
  readonly ask: () => HelloAsk | null;
  /** askPeers (hello-client.ts), bound to the node's credentials and a deadline. */
  readonly askPeers: (targets: readonly HelloTarget[], ask: HelloAsk) => Promise<PeerAnswer[]>;
  readonly onAnswer: (peer: string, clusterId: string | null) => void;
}

export class OtherClusterProbe {
  private running = false;

  constructor(private readonly deps: OtherClusterProbeDeps) {}

  /** One round; skipped while the last one is still out (a peer that does not answer costs the deadline). */
  async round(): Promise<void> {
    if (this.running) return;
    const ask = this.deps.ask();
    const targets = this.deps.targets();
    if (ask === null || targets.length === 0) return;
    this.running = true;
    try {
      for (const answer of await this.deps.askPeers(targets, ask)) {
        // Down, unreachable or refusing: no answer says nothing about its cluster.
        if ('reply' in answer) this.deps.onAnswer(answer.peer, answer.reply.clusterId);
      }
    } finally {
      this.running = false;
    }
  }
}
