/**
 * The state a survivor's log leads to, computed offline exactly as RaftHost applies committed
 * entries: the snapshot, then every entry after it (a command applied, a no-op advanced over, a
 * configuration change applied as its members command). Recovery commits every entry of the
 * log, so every one of them is applied here.
 */
import { confEntryToMembersCommand } from '../node/conf-members.js';
import { decodeConfEntry, RaftError, type Entry, type Snapshot } from '../raft/index.js';
import { StateMachine } from '../statemachine/index.js';

export function replay(snapshot: Snapshot | null, entries: readonly Entry[]): StateMachine {
  const sm = new StateMachine();
  if (snapshot !== null) sm.restore(snapshot.data);
  return applyEntries(sm, entries);
}

/** Applies `entries` onto `sm` (those it has applied already are passed over). */
export function applyEntries(sm: StateMachine, entries: readonly Entry[]): StateMachine {
  for (const e of entries) {
    if (e.index <= sm.appliedIndex) continue;
    switch (e.kind) {
      case 'normal':
        sm.apply(e.index, e.data);
        break;
      case 'noop':
        sm.advance(e.index);
        break;
      case 'conf': {
        let command: Uint8Array | null = null;
        try {
          command = confEntryToMembersCommand(decodeConfEntry(e.data));
        } catch (err) {
          if (!(err instanceof RaftError)) throw err; // an entry that does not decode changes nothing, as in the core
        }
        if (command === null) sm.advance(e.index);
        else sm.apply(e.index, command);
        break;
      }
    }
  }
  return sm;
}
