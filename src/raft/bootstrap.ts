/**
 * A new cluster's first entry. Every initial member writes the same entry at index 1, term 1,
 * already committed, so they all start from one identical log and a node that joins later
 * learns the initial voters from the log like any other membership change.
 */
import { encodeConfEntry } from './conf-change.js';
import type { Entry, HardState, NodeId } from './types.js';

/** The term of the bootstrap entry: no leader has it, as elections begin at the next. */
export const BOOTSTRAP_TERM = 1;

export function bootstrapState(voters: readonly NodeId[], context: string): { entry: Entry; hardState: HardState } {
  const entry: Entry = {
    term: BOOTSTRAP_TERM,
    index: 1,
    kind: 'conf',
    data: encodeConfEntry({ type: 'bootstrap', voters: [...voters].sort(), context }),
  };
  return { entry, hardState: { term: BOOTSTRAP_TERM, vote: null, commit: 1 } };
}
