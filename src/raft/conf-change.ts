/**
 * Membership changes, one server at a time (Raft thesis §4.1), taking effect when their entry
 * is applied (etcd's approach: no rollback needed when an uncommitted change is truncated).
 * At most one change may be pending: the leader refuses a new one until the last is applied.
 *
 * A fresh cluster starts with a `bootstrap` entry at index 1 on every initial member, so a
 * node that joins later learns the initial voters from the log like any other change.
 */
import { RaftError } from './errors.js';
import type { ConfState, NodeId } from './types.js';

export type ConfEntry =
  | { readonly type: 'bootstrap'; readonly voters: readonly NodeId[]; readonly context: string }
  | { readonly type: 'add-learner' | 'promote' | 'remove'; readonly node: NodeId; readonly context: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfEntry(c: ConfEntry): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

export function decodeConfEntry(data: Uint8Array): ConfEntry {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch {
    throw new RaftError('INVALID_CONF_CHANGE', 'conf entry is not valid JSON');
  }
  if (typeof v !== 'object' || v === null) throw new RaftError('INVALID_CONF_CHANGE', 'conf entry is not an object');
  const o = v as Record<string, unknown>;
  const context = typeof o['context'] === 'string' ? o['context'] : '';
  if (o['type'] === 'bootstrap') {
    const voters = o['voters'];
    if (!Array.isArray(voters) || voters.length === 0 || !voters.every((x) => typeof x === 'string')) {
      throw new RaftError('INVALID_CONF_CHANGE', 'bootstrap entry needs a non-empty voters list');
    }
    return { type: 'bootstrap', voters: voters as string[], context };
  }
  if ((o['type'] === 'add-learner' || o['type'] === 'promote' || o['type'] === 'remove') && typeof o['node'] === 'string') {
    return { type: o['type'], node: o['node'], context };
  }
  throw new RaftError('INVALID_CONF_CHANGE', `unknown conf entry type ${JSON.stringify(o['type'])}`);
}

/** Checks a proposed change against the current configuration; throws INVALID_CONF_CHANGE. */
export function validateConfChange(conf: ConfState, c: ConfEntry): void {
  const isVoter = (id: NodeId) => conf.voters.includes(id);
  const isLearner = (id: NodeId) => conf.learners.includes(id);
  switch (c.type) {
    case 'bootstrap':
      throw new RaftError('INVALID_CONF_CHANGE', 'bootstrap is only written when a cluster is created');
    case 'add-learner':
      if (isVoter(c.node) || isLearner(c.node)) {
        throw new RaftError('INVALID_CONF_CHANGE', `${c.node} is already a member`);
      }
      return;
    case 'promote':
      if (!isLearner(c.node)) throw new RaftError('INVALID_CONF_CHANGE', `${c.node} is not a learner`);
      return;
    case 'remove':
      if (!isVoter(c.node) && !isLearner(c.node)) throw new RaftError('UNKNOWN_NODE', `${c.node} is not a member`);
      if (isVoter(c.node) && conf.voters.length === 1) {
        throw new RaftError('INVALID_CONF_CHANGE', `${c.node} is the last voter`);
      }
      return;
  }
}

/** The configuration after applying a change. Invalid changes (already validated when
 * proposed, so only reachable via races) leave the configuration as it was. */
export function applyConfEntry(conf: ConfState, c: ConfEntry): ConfState {
  const without = (xs: readonly NodeId[], id: NodeId) => xs.filter((x) => x !== id);
  switch (c.type) {
    case 'bootstrap':
      return { voters: [...c.voters].sort(), learners: [] };
    case 'add-learner':
      if (conf.voters.includes(c.node) || conf.learners.includes(c.node)) return conf;
      return { voters: conf.voters, learners: [...conf.learners, c.node].sort() };
    case 'promote':
      if (!conf.learners.includes(c.node)) return conf;
      return { voters: [...conf.voters, c.node].sort(), learners: without(conf.learners, c.node) };
    case 'remove':
      return { voters: without(conf.voters, c.node), learners: without(conf.learners, c.node) };
  }
}
