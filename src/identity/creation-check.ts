/**
 * A new cluster's creation, checked again once this node has bootstrapped. At start it bootstraps
 * when no peer answers its start-up question; hosts started within the same second or two each
 * find none up yet, and with different `cluster.nodes` they would each write their own first entry,
 * which Raft takes for one (index 1, term 1): one cluster whose members disagree about its voters.
 * Until the cluster has an id, a bootstrapped node keeps asking the peers that did not answer; a
 * peer still in the creation that creates it from other nodes means this node must stop, as the
 * start-up check would have refused it (startup-decision.ts, NODES_DIFFER).
 */
import type { PeerAnswer } from './startup-decision.js';
import { describeDifference, sameInitialNodes, type InitialNodes } from './initial-nodes.js';

export type CreationVerdict =
  /** Peers that answered and create the cluster from the same nodes: no need to ask them again. */
  | { readonly kind: 'same'; readonly confirmed: readonly string[] }
  | { readonly kind: 'differs'; readonly peer: string; readonly message: string };

export function judgeCreation(ours: InitialNodes, answers: readonly PeerAnswer[]): CreationVerdict {
  const confirmed: string[] = [];
  for (const a of answers) {
    if (!('reply' in a)) continue;
    const theirs = a.reply.clusterId === null ? a.reply.creationNodes : null;
    // A peer with a cluster id, or of a version that does not say, cannot be compared: asked no more.
    if (theirs === null || sameInitialNodes(theirs, ours)) {
      confirmed.push(a.peer);
      continue;
    }
    return {
      kind: 'differs',
      peer: a.peer,
      message:
        `cluster.nodes differs from ${a.peer}'s, which also bootstrapped the new cluster, from other nodes (${describeDifference(ours, theirs, a.peer)}): ` +
        'the two started too close together for either to see the other at start-up, and their first log entries differ where Raft takes them for one. ' +
        'This node stops; give every host the same cluster.nodes, stop the others, empty every data dir (no cluster id yet: nothing was written) and start them again',
    };
  }
  return { kind: 'same', confirmed };
}
