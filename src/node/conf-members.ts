/**
 * A conf entry changes who votes (the Raft core) and, applied to the state machine, the
 * membership records (addresses, status) that operators see. This keeps the two in step:
 * both come from the same log entry.
 */
import type { ConfEntry } from '../raft/index.js';
import { encodeCommand, type MembersCommand } from '../statemachine/index.js';
import { decodeAddContext } from '../statemachine/add-context.js';

export { decodeAddContext, encodeAddContext, type AddContext } from '../statemachine/add-context.js';

export interface MemberAddress {
  readonly id: string;
  readonly address: string;
}

/** The audit reason of a member.added event. */
export function addedReason(context: string): string {
  return decodeAddContext(context).autoPromote ? 'added as learner, to be promoted once caught up' : 'added as learner';
}

export function encodeBootstrapContext(members: readonly MemberAddress[]): string {
  return JSON.stringify(members.map((m) => ({ id: m.id, address: m.address })));
}

function decodeBootstrapContext(context: string, voters: readonly string[]): MemberAddress[] {
  try {
    const v: unknown = JSON.parse(context);
    if (Array.isArray(v)) {
      return v
        .filter((x): x is { id: string; address: string } => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string' && typeof (x as { address?: unknown }).address === 'string')
        .map((x) => ({ id: x.id, address: x.address }));
    }
  } catch {
    /* fall through: addresses unknown */
  }
  return voters.map((id) => ({ id, address: '' }));
}

export function confEntryToMembersCommand(change: ConfEntry): Uint8Array {
  return encodeCommand(membersCommandFor(change));
}

function membersCommandFor(change: ConfEntry): MembersCommand {
  switch (change.type) {
    case 'bootstrap':
      return { kind: 'members', op: 'bootstrap', members: decodeBootstrapContext(change.context, change.voters) };
    case 'add-learner': {
      const add = decodeAddContext(change.context);
      return { kind: 'members', op: 'add', id: change.node, address: add.address, learner: true, ...(add.autoPromote ? { autoPromote: true as const } : {}) };
    }
    case 'promote':
      return { kind: 'members', op: 'promote', id: change.node };
    case 'remove':
      return { kind: 'members', op: 'remove', id: change.node };
  }
}
