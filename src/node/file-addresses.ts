/**
 * The cluster file's addresses against the cluster's own. Once a cluster runs, a member's
 * address is what the replicated membership says (`ctl member list`), and that is what this node
 * dials; the file's `cluster.nodes` addresses are used only to ask peers at start-up. A file that
 * disagrees (two addresses swapped, a host moved and the file not updated) still starts, but the
 * start-up question goes to the wrong hosts, and the next operator reading the file is misled:
 * say so, naming both addresses.
 */

import { sameAddress } from '../config/host-port.js';

interface Addressed {
  readonly id: string;
  readonly address: string;
}

/** One line per member whose file address is not the cluster's; members absent on either side are not compared. */
export function fileAddressWarnings(file: string, fileNodes: readonly Addressed[], members: readonly Addressed[]): string[] {
  const cluster = new Map(members.filter((m) => m.address !== '').map((m) => [m.id, m.address]));
  const out: string[] = [];
  for (const n of fileNodes) {
    const actual = cluster.get(n.id);
    if (actual === undefined || sameAddress(actual, n.address)) continue;
    const owner = [...cluster].find(([, address]) => sameAddress(address, n.address))?.[0];
    const swapped = owner !== undefined && owner !== n.id ? ` (the cluster's address of ${owner}: addresses swapped?)` : '';
    out.push(
      `${file}: cluster.nodes lists ${n.id} at ${n.address}${swapped}, but the cluster has ${n.id} at ${actual} (ctl member list): ` +
        `this node dials ${actual}, and asks ${n.address} only at start-up. Fix the file so the two agree`,
    );
  }
  return out;
}

/** The cluster dials this member where it does not listen: a config error (exit 2). */
export class MemberAddressError extends Error {
  override readonly name = 'MemberAddressError';
  readonly exitCode = 2;
}

/**
 * This member's own address in the file against the cluster's record of it. Peers dial the
 * record; a member listening elsewhere hears none of their calls, and only answers that ride
 * back on its own calls reach it, so it half-works: reported online and healthy, lagging, and no
 * help to a quorum. The independent test restarted a member with its port edited in its file
 * and then lost the cluster's leader when another member stopped. null when they agree or the
 * cluster has no address for it yet.
 */
export function selfAddressProblem(file: string, self: Addressed, members: readonly Addressed[]): string | null {
  const recorded = members.find((m) => m.id === self.id)?.address ?? '';
  if (recorded === '' || sameAddress(recorded, self.address)) return null;
  return (
    `${file}: cluster.nodes lists this member, ${self.id}, at ${self.address}, but the cluster has it at ${recorded} (ctl member list), ` +
    `where every peer dials it: listening at ${self.address} it would hear none of them. ` +
    `Put ${recorded} back in the file; to move ${self.id} to ${self.address}: ctl member remove ${self.id}; ctl member add ${self.id} ${self.address}; ` +
    'start it with an empty data dir and --join (docs/operate.md, "Rebuilding a lost member")'
  );
}

