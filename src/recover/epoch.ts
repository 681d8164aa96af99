/**
 * A new epoch of the cluster's identity (src/identity): the recovered state gets a new cluster
 * id, so members left out of the recovery (still holding the old id) are refused by every
 * member of the new epoch, and refuse it, instead of rejoining with a log that diverged.
 *
 * The id is derived, not drawn: recovering several survivors whose logs are identical, with
 * the same members, gives them the same id, so they form one cluster (as Consul's peers.json on
 * every server does); survivors whose logs differ get different ids and refuse each other
 * rather than diverge silently.
 */
import { createHash } from 'node:crypto';
import { IDENTITY_PATTERN } from '../statemachine/members.js';
import { StateMachine } from '../statemachine/index.js';
import { isRecord } from '../util/untrusted.js';

export interface EpochBasis {
  readonly previous: string;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly term: number;
  readonly members: readonly string[];
}

export function epochClusterId(b: EpochBasis): string {
  const text = `recover|${b.previous}|${b.lastIndex}|${b.lastTerm}|${b.term}|${[...b.members].sort().join(',')}`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** `data` (a state machine snapshot) with the members' cluster id replaced; validated by restoring it. */
export function withClusterId(data: Uint8Array, clusterId: string): Uint8Array {
  if (!IDENTITY_PATTERN.test(clusterId)) throw new Error(`invariant: ${clusterId} is not a cluster id`);
  const body: unknown = JSON.parse(new TextDecoder().decode(data.subarray(1)));
  if (!isRecord(body) || !isRecord(body['kinds']) || !isRecord(body['kinds']['members'])) {
    throw new Error('invariant: a state machine snapshot without a members table');
  }
  const kinds = body['kinds'];
  const rewritten = { ...body, kinds: { ...kinds, members: { ...(kinds['members'] as Record<string, unknown>), clusterId } } };
  const out = new TextEncoder().encode(String.fromCharCode(data[0] ?? 1) + JSON.stringify(rewritten));
  const check = new StateMachine();
  check.restore(out);
  if (check.members.clusterId !== clusterId) throw new Error('invariant: the rewritten snapshot does not hold the new cluster id');
  return check.snapshot();
}
