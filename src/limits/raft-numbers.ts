/**
 * The one rule for Raft terms and log indexes that come from outside a node: from a peer (the
 * transport codec) or from disk (the storage codec). Both refuse what this module refuses.
 *
 * Why a bound below 2^53: a node that adopts a term or index must be able to move past it.
 * JavaScript integers are exact up to 2^53 - 1; a forged heartbeat at term 2^53 - 2 was once
 * saved by every node, and the next election needed a term no decoder would accept. Values are
 * capped at 2^52, so every accepted value leaves 2^52 exact successors, and a message may lead
 * its receiver's term by at most 2^32 (an election every millisecond for 50 days), so getting
 * anywhere near the cap takes millions of separately accepted jumps. No legitimate cluster
 * comes within a factor of a thousand of either figure.
 */

import { describe } from '../util/untrusted.js';

/** The largest term or index a node accepts from a peer or from its own disk. */
export const MAX_RAFT_NUMBER = 2 ** 52;

/** How far a message's term may lead the receiver's own term. */
export const MAX_TERM_LEAD = 2 ** 32;

export type RaftNumberKind = 'term' | 'index';

/** What was expected and what was found, for the caller's own error class. */
export interface RaftNumberProblem {
  readonly expected: string;
  readonly found: string;
}

/** Null when `value` is a term or index this node may adopt; otherwise what is wrong with it. */
export function raftNumberProblem(value: unknown, kind: RaftNumberKind): RaftNumberProblem | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return { expected: 'a non-negative safe integer', found: describe(value) };
  }
  if (value > MAX_RAFT_NUMBER) {
    return {
      expected: `${kind === 'index' ? 'an' : 'a'} ${kind} of at most 2^52 (${MAX_RAFT_NUMBER}; a node that adopted more could not move past it)`,
      found: String(value),
    };
  }
  return null;
}

/** One line: "expected ..., found ...". */
export function describeProblem(p: RaftNumberProblem): string {
  return `expected ${p.expected}, found ${p.found}`;
}

/** Null when a message at `term` may be stepped into a node at `ownTerm`; else why not. */
export function termLeadProblem(term: number, ownTerm: number): string | null {
  if (term - ownTerm <= MAX_TERM_LEAD) return null;
  return `term ${term} leads this node's term ${ownTerm} by more than 2^32 (${MAX_TERM_LEAD}); terms rise one election at a time, so this is refused`;
}
