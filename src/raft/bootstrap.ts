/**
 * A new cluster's first entry. Every initial member writes the same entry at index 1, term 1,
 * already committed, so they all start from one identical log and a node that joins later
 * learns the initial voters from the log like any other membership change.
 */
import { encodeConfEntry } from './conf-change.js';
import type { Entry, HardState, NodeId } from './types.js';

export function bootstrapState(voters: readonly NodeId[], context: string): { entry: Entry; hardState: HardState } {
  const entry: Entry = {
    term: 1,
    index: 1,
    kind: 'conf',
    data: encodeConfEntry({ type: 'bootstrap', voters: [...voters].sort(), context }),
  };
  return { entry, hardState: { term: 1, vote: null, commit: 1 } };
}
