/**
 * Quorum-loss recovery, decided without touching a disk: from what a survivor's data dir holds
 * (its hard state, snapshot and log) and the members to keep, the entries to append and the
 * hard state to write. etcd's `--force-new-cluster` does the same (it appends configuration
 * changes that remove every other member and commits them); unlike etcd, every entry in the log
 * is kept and committed, including those the node never learned were committed, so nothing a
 * client may have been told is lost.
 *
 * The appended entries are configuration changes (promote a kept learner, remove every member
 * not kept) and a no-op that marks the recovery. They carry a new term no leader has used in
 * this log (the highest term seen + 1), so they can never be confused with entries another
 * node holds at the same index, and the node votes for itself in that term, as a leader that
 * wrote them would have.
 */
import { caseTwinHint } from '../config/id-case.js';
import { applyConfEntry, encodeConfEntry, type ConfEntry } from '../raft/conf-change.js';
import { decodeConfEntry, RaftError, type ConfState, type Entry, type HardState, type Snapshot } from '../raft/index.js';
import { RecoverError } from './errors.js';

export interface RecoverInput {
  /** The node running recover. */
  readonly self: string;
  /** The members to keep; null: only `self`. */
  readonly keep: readonly string[] | null;
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** The log after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

export interface RecoverPlan {
  /** The configuration at the end of the log, before recovery. */
  readonly before: ConfState;
  /** The configuration once the appended entries apply: the kept members, all voters. */
  readonly after: ConfState;
  readonly removed: readonly string[];
  readonly promoted: readonly string[];
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The commit index the node knew of. */
  readonly commitBefore: number;
  readonly entries: readonly Entry[];
  readonly hardState: HardState;
}

function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

/** The configuration after every conf entry of the log (an entry that does not decode changes nothing, as in the core). */
export function configurationAtEnd(snapshot: Snapshot | null, entries: readonly Entry[]): ConfState {
  let conf: ConfState = snapshot?.meta.conf ?? { voters: [], learners: [] };
  for (const e of entries) {
    if (e.kind !== 'conf') continue;
    let change: ConfEntry;
    try {
      change = decodeConfEntry(e.data);
    } catch (err) {
      if (err instanceof RaftError) continue;
      throw err;
    }
    conf = applyConfEntry(conf, change);
  }
  return conf;
}

export function planRecovery(input: RecoverInput): RecoverPlan {
  const { self, hardState, snapshot, entries } = input;
  if (snapshot === null && entries.length === 0 && hardState.term === 0) {
    throw new RecoverError('EMPTY_DATA_DIR', `the data dir of ${self} holds no Raft state: there is nothing to recover from`);
  }
  const before = configurationAtEnd(snapshot, entries);
  const members = new Set([...before.voters, ...before.learners]);
  const described = `voters ${before.voters.join(', ') || '(none)'}${before.learners.length > 0 ? `, learners ${before.learners.join(', ')}` : ''}`;
  if (!members.has(self)) {
    throw new RecoverError('NOT_A_MEMBER', `${self} is not a member of the configuration in its own log (${described}): recover on a member that is`);
  }
  const keep = input.keep ?? [self];
  const seen = new Set<string>();
  for (const id of keep) {
    if (id === '') throw new RecoverError('INVALID_MEMBERS', '--members: expected ids separated by commas, found an empty one');
    if (seen.has(id)) throw new RecoverError('INVALID_MEMBERS', `--members: ${id} is named twice`);
    seen.add(id);
    if (!members.has(id)) throw new RecoverError('UNKNOWN_MEMBER', `--members: ${id} is not a member of the configuration in ${self}'s log (${described})${caseTwinHint(id, members)}`);
  }
  if (!seen.has(self)) {
    throw new RecoverError('INVALID_MEMBERS', `--members must include ${self}, the node being recovered (found ${keep.join(', ')})`);
  }
  const last = entries[entries.length - 1];
  const lastIndex = last?.index ?? snapshot?.meta.index ?? 0;
  const lastTerm = last?.term ?? snapshot?.meta.term ?? 0;
  const term = Math.max(hardState.term, lastTerm) + 1;
  const promoted = sorted(keep.filter((id) => before.learners.includes(id)));
  const removed = sorted([...members].filter((id) => !seen.has(id)));
  const context = `quorum-loss recovery on ${self} (controller recover): not among the members kept (${sorted(seen).join(', ')})`;
  // Promotions first: the kept members are voters before anyone is removed.
  const changes: ConfEntry[] = [
    ...promoted.map((node): ConfEntry => ({ type: 'promote', node, context: '' })),
    ...removed.map((node): ConfEntry => ({ type: 'remove', node, context })),
  ];
  const appended: Entry[] = [
    ...changes.map((c, i): Entry => ({ index: lastIndex + 1 + i, term, kind: 'conf', data: encodeConfEntry(c) })),
    { index: lastIndex + 1 + changes.length, term, kind: 'noop', data: new Uint8Array() },
  ];
  let after = before;
  for (const c of changes) after = applyConfEntry(after, c);
  const newLast = lastIndex + appended.length;
  return {
    before,
    after,
    removed,
    promoted,
    firstIndex: entries[0]?.index ?? lastIndex + 1,
    lastIndex,
    lastTerm,
    commitBefore: hardState.commit,
    entries: appended,
    hardState: { term, vote: self, commit: newLast },
  };
}
