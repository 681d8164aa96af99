/**
 * A refusal that says the process answering at a member's address is not that member: it is
 * another member (it refuses the call as misdirected: `to` is not its id), or a node of another
 * cluster (it refuses our cluster name or id). The caller counts such a refusal of its ping as a
 * failure to reach the member at that address (AnsweredByOtherError), not as a ping lost on a
 * working connection (membership.md, a member nobody can dial).
 *
 * On the wire: a misdirected refusal is INVALID_ARGUMENT with the refuser's own member id in the
 * `peer-misdirected` trailer; a cluster refusal is the identity refusal it always was
 * (PERMISSION_DENIED, `peer-refusal: CLUSTER_NAME | CLUSTER_ID`). A peer older than the trailer
 * sends the text alone and is read as before (RPC_FAILED): nothing is parsed out of the text.
 * The mark is taken at its word only so far as it makes this node count its own dial as failed.
 */
import * as grpc from '@grpc/grpc-js';
import { NODE_ID_PATTERN } from '../config/schema.js';
import type { RefusalCode } from '../identity/index.js';
import { refusalOf } from './refusal-status.js';
import { describeValue } from './wire.js';

export const MISDIRECTED_METADATA_KEY = 'peer-misdirected';

/**
 * The identity refusals that say the refuser belongs to another cluster. The member's own process
 * could refuse so only if it were of another cluster itself, and then its own messages are
 * refused here too: the mark changes nothing for it. Refusals of this node's data dir, process or
 * certificate say nothing of who answers, and keep meaning "our dials work".
 */
function otherCluster(code: RefusalCode): code is 'CLUSTER_NAME' | 'CLUSTER_ID' {
  return code === 'CLUSTER_NAME' || code === 'CLUSTER_ID';
}

/** Why the process at a member's address refused a call as not meant for it. */
export type NotAddressee =
  /** It is another member: `answeredAs` is the id it gave in its trailer. */
  | { readonly cause: 'MISDIRECTED'; readonly answeredAs: string }
  /** It belongs to another cluster (another cluster name, or the same name and another cluster id). */
  | { readonly cause: 'CLUSTER_NAME' | 'CLUSTER_ID' };

/** The status a process answers a call addressed to `to`, not to itself (`self`), with its mark. */
export function misdirectedStatus(self: string, to: unknown): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  metadata.set(MISDIRECTED_METADATA_KEY, self);
  return { code: grpc.status.INVALID_ARGUMENT, details: `misdirected: expected to=${JSON.stringify(self)}, found ${describeValue(to)}`, metadata };
}

/**
 * The mark of a failed call to `dialled`, or null when there is none (an older peer, another
 * failure). A misdirected mark naming `dialled` itself contradicts itself and is ignored.
 */
export function notAddresseeOf(err: { readonly code?: number; readonly metadata?: unknown }, dialled: string): NotAddressee | null {
  const refusal = refusalOf(err);
  if (refusal !== null) return otherCluster(refusal) ? { cause: refusal } : null;
  if (err.code !== grpc.status.INVALID_ARGUMENT || !(err.metadata instanceof grpc.Metadata)) return null;
  const raw = err.metadata.get(MISDIRECTED_METADATA_KEY)[0];
  const answeredAs = raw instanceof Buffer ? raw.toString('utf8') : raw;
  if (typeof answeredAs !== 'string' || !NODE_ID_PATTERN.test(answeredAs) || answeredAs === dialled) return null;
  return { cause: 'MISDIRECTED', answeredAs };
}

/** Who answers there, as AnsweredByOtherError's detail; `said` is the refusal's status as received. */
export function describeNotAddressee(mark: NotAddressee, said: string): string {
  const shown = said.length > 512 ? `${said.slice(0, 512)}...` : said;
  if (mark.cause === 'MISDIRECTED') return `it is ${mark.answeredAs}, which refused the ping as misdirected: ${shown}`;
  return `it is a node of another cluster, which refused the ping: ${shown}`;
}
