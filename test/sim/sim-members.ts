/**
 * The replicated membership records in the simulation: the production members kind, fed as the
 * controller feeds it (a command per conf entry, and the identity commands a leader proposes),
 * so the identity checks judge against the very records production keeps. The sim's conf
 * entries carry no addresses: each member gets a placeholder one.
 */
import { decodeConfEntry, type ConfEntry } from '../../src/raft/index.js';
import { CommandError, decodeCommand, membersKind, type MembersCommand, type MembersView } from '../../src/statemachine/index.js';
import type { ApplyContext } from '../../src/statemachine/resource-kind.js';

/** The placeholder address of member `id`: what the sim's cluster file lists too. */
export const simAddress = (id: string): string => `sim:${id}`;
const address = simAddress;

function commandFor(change: ConfEntry): MembersCommand {
  switch (change.type) {
    case 'bootstrap':
      return { kind: 'members', op: 'bootstrap', members: change.voters.map((id) => ({ id, address: address(id) })) };
    case 'add-learner':
      return { kind: 'members', op: 'add', id: change.node, address: address(change.node), learner: true };
    case 'promote':
      return { kind: 'members', op: 'promote', id: change.node };
    case 'remove':
      return { kind: 'members', op: 'remove', id: change.node };
  }
}

/** Revisions do not matter here: the sim's digest already covers every entry. */
function context(index: number): ApplyContext {
  return {
    index,
    revision: 0,
    bump: () => 1,
    read: () => {
      throw new Error('the members kind reads no other kind');
    },
  };
}

export class SimMembers {
  private store = membersKind.create();

  get view(): MembersView {
    return this.store.view;
  }

  /** A conf entry's data, as the controller mirrors it into the members table. */
  applyConf(index: number, data: Uint8Array): void {
    let change: ConfEntry;
    try {
      change = decodeConfEntry(data);
    } catch {
      return;
    }
    this.store.apply(commandFor(change), context(index));
  }

  /** A normal entry: applied when it is a members command; false for anything else. */
  applyCommand(index: number, data: Uint8Array): boolean {
    let decoded;
    try {
      decoded = decodeCommand(data);
    } catch (err) {
      if (err instanceof CommandError) return false;
      throw err;
    }
    if (decoded.command.kind !== membersKind.name) return false;
    this.store.apply(decoded.command as MembersCommand, context(index));
    return true;
  }

  snapshot(): unknown {
    return this.store.snapshot();
  }

  restore(data: unknown): void {
    this.store = membersKind.create();
    if (data !== undefined) this.store.restore(data);
  }
}
