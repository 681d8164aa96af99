/**
 * What a voter's answer to the start-up question says about whether it still runs, for
 * `controller recover`'s live-quorum check (live-quorum.ts).
 *
 * Any answer from a process at the member's address counts as the member running, a refusal
 * included. A refusal (CLUSTER_NAME, NOT_A_PEER, ...) cannot show the peer's cluster id, since it
 * answers before the data dirs are compared, but it shows a controller at the address this log
 * records for that member, and it refused this node's *file* (its cluster.name, its certificate),
 * not its data dir. The file is then the likeliest to be wrong, and a node recovered with it would
 * lead a second cluster beside theirs. If the address really belongs to something else now,
 * `--force` goes ahead; going ahead wrongly splits the cluster, so a wrong stop is the cheaper
 * mistake. A connection the TLS handshake ended counts too: something accepted it at that address.
 * So does a connection that came up and carried the question with no answer in time (a loaded
 * host: a live quorum was once removed so).
 * Only these mean "not running": no connection within the deadline (down, frozen, partitioned), a
 * connection that never opened (refused, unreachable, unresolvable), or UNIMPLEMENTED (what
 * answered is not a controller). A reply for another cluster id stays uncounted, as before:
 * survivors recovered with `--members` and started in the new epoch answer so.
 */
import { isRefusalCode, type PeerAnswer } from '../identity/index.js';
import { theirNameIn } from '../identity/name-refusal.js';
import type { RefusingMember, RunningSign } from './live-quorum.js';

export type VoterAnswer =
  /** Answered for the asker's cluster id. */
  | { readonly kind: 'member'; readonly id: string; readonly lastIndex: number }
  /** Answered for another cluster id. */
  | { readonly kind: 'other-cluster'; readonly id: string }
  /** Runs, but refused this node's file (`refused`: how, and what it said when that differs by peer), or answered too late (`slow`). */
  | RefusingMember
  /** Nothing answered. */
  | { readonly kind: 'silent'; readonly id: string };

/** Connection failures before anything accepted the connection (grpc-js names net.connect's and the resolver's errors). */
const NEVER_CONNECTED = /\bconnect E[A-Z]+\b|getaddrinfo|Name resolution failed|No addresses resolved|Socket closed/;

/** grpc-js's connection error without its boilerplate and timestamp: `read ECONNRESET`. */
function connectionError(details: string): string {
  return details
    .replace(/^No connection established\. Last error: (Error: )?/, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, '')
    .replace(/\.?\s*Resolution note: ?$/, '');
}

/**
 * How a peer that runs showed it (refused, or connected and slow); null when nothing answered. `status` is the gRPC status's
 * name, null for an answer that did not decode; a controller's refusal has details
 * `CODE: reason` (src/transport/peer-service.ts).
 */
function refusal(status: string | null, details: string, ownClusterName: string): RunningSign | null {
  if (status === null) return { kind: 'refused', cause: 'gave a malformed answer', detail: details };
  // A connection came up and carried the question, and no answer came in time: a process is
  // there and runs slowly (a loaded host; recover once removed a live quorum so). A frozen one
  // stays silent ("Waiting for LB pick"): its kernel accepts the TCP connection, but grpc-js uses
  // a connection only once the server's HTTP/2 settings came (checked against a bare listener).
  const carried = status === 'DEADLINE_EXCEEDED' ? /^Deadline exceeded after ([^,]+),.*remote_addr=([^,\s]+)/s.exec(details) : null;
  if (carried !== null) return { kind: 'slow', within: carried[1]!, at: carried[2]! };
  if (status === 'DEADLINE_EXCEEDED' || status === 'UNIMPLEMENTED') return null;
  if (status === 'UNAVAILABLE' && NEVER_CONNECTED.test(details)) return null;
  const [, code = '', reason = ''] = /^([A-Z_]+): ([\s\S]*)$/.exec(details) ?? [];
  if (status === 'PERMISSION_DENIED' && isRefusalCode(code)) {
    if (code === 'CLUSTER_NAME') {
      const theirs = theirNameIn(reason);
      const cause = `refused this file's cluster name ${JSON.stringify(ownClusterName)}`;
      return theirs === null ? { kind: 'refused', cause, detail: reason } : { kind: 'refused', cause: `${cause}: they run cluster ${JSON.stringify(theirs)}`, detail: null };
    }
    if (code === 'NOT_A_PEER' || code === 'WRONG_PEER') return { kind: 'refused', cause: `refused this file's TLS certificate (${code}: ${reason})`, detail: null };
    return { kind: 'refused', cause: `refused this node (${code}: ${reason})`, detail: null };
  }
  // grpc-js's wording for a connection that was accepted, then ended before HTTP/2 began: a TLS handshake one side refused.
  if (status === 'UNAVAILABLE' && details.startsWith('No connection established')) {
    return { kind: 'refused', cause: "ended the connection in the TLS handshake: this file's tls settings and theirs do not agree", detail: connectionError(details) };
  }
  return { kind: 'refused', cause: `refused the question (${status})`, detail: details };
}

export function classifyAnswer(answer: PeerAnswer, asker: { readonly clusterId: string | null; readonly clusterName: string }): VoterAnswer {
  const id = answer.peer;
  if ('reply' in answer) {
    return answer.reply.clusterId === asker.clusterId ? { kind: 'member', id, lastIndex: answer.reply.lastIndex } : { kind: 'other-cluster', id };
  }
  const refused = refusal(answer.status, answer.details, asker.clusterName);
  return refused === null ? { kind: 'silent', id } : { id, ...refused };
}
