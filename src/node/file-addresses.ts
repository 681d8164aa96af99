/**
 * The cluster file's addresses against the cluster's own. Once a cluster runs, a member's
 * address is what the replicated membership says (`ctl member list`), and that is what this node
 * dials; the file's `cluster.nodes` addresses are used only to ask peers at start-up. A file that
 * disagrees (two addresses swapped, a host moved and the file not updated) still starts, but the
 * start-up question goes to the wrong hosts, and the next operator reading the file is misled:
 * say so, naming both addresses.
 */

interface Addressed {
  readonly id: string;
  readonly address: string;
}

/** One line per member whose file address is not the cluster's; members absent on either side are not compared. */
export function fileAddressWarnings(file: string, fileNodes: readonly Addressed[], members: readonly Addressed[]): string[] {
  const cluster = new Map(members.filter((m) => m.address !== '').map((m) => [m.id, m.address]));
  const holder = new Map([...cluster].map(([id, address]) => [address, id]));
  const out: string[] = [];
  for (const n of fileNodes) {
    const actual = cluster.get(n.id);
    if (actual === undefined || actual === n.address) continue;
    const owner = holder.get(n.address);
    const swapped = owner !== undefined && owner !== n.id ? ` (the cluster's address of ${owner}: addresses swapped?)` : '';
    out.push(
      `${file}: cluster.nodes lists ${n.id} at ${n.address}${swapped}, but the cluster has ${n.id} at ${actual} (ctl member list): ` +
        `this node dials ${actual}, and asks ${n.address} only at start-up. Fix the file so the two agree`,
    );
  }
  return out;
}
