/**
 * The context of an add-learner conf entry: the new member's address, and whether the leader
 * is to promote it once it has caught up (a plain `member add`). The client API writes it, the
 * node turns it into the members kind's add command (src/node/conf-members.ts).
 */

/** Plain addresses (entries written before the intent existed, and `--learner` adds) stay plain, so old logs read the same. */
export interface AddContext {
  readonly address: string;
  readonly autoPromote: boolean;
}

export function encodeAddContext(add: AddContext): string {
  return add.autoPromote ? JSON.stringify({ address: add.address, autoPromote: true }) : add.address;
}

export function decodeAddContext(context: string): AddContext {
  // An address never starts with '{': anything else is a plain address.
  if (!context.startsWith('{')) return { address: context, autoPromote: false };
  try {
    const v: unknown = JSON.parse(context);
    if (typeof v === 'object' && v !== null && 'address' in v && typeof v.address === 'string') {
      return { address: v.address, autoPromote: 'autoPromote' in v && v.autoPromote === true };
    }
  } catch {
    /* fall through: not JSON after all */
  }
  return { address: context, autoPromote: false };
}

