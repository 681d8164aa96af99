/**
 * Member ids are case-sensitive (`c1` and `C1` are two members), as etcd's member names and
 * cluster.nodes[].id have always been. An id that differs from a member's only in case is
 * almost surely a typo of it: `ctl member add C1 ...` beside `c1` added a second member, a
 * learner no controller would ever run, that holds the cluster version and shows as offline
 * for good. Clusters whose ids already differ only in case keep them: only a new id is judged.
 */

/** The first of `ids` that differs from `id` only in case; null when none does (or one is `id` itself). */
export function caseTwinOf(id: string, ids: Iterable<string>): string | null {
  const folded = id.toLowerCase();
  for (const other of ids) if (other !== id && other.toLowerCase() === folded) return other;
  return null;
}

/** Why `member add ID` is refused: ID differs from member `twin` only in case. */
export function caseTwinAddProblem(id: string, twin: string): string {
  return (
    `${id} differs from member ${twin} only in case, and member ids are case-sensitive: this would add a second member beside ${twin} ` +
    `(a typo of ${twin}?). To act on that member, use ${twin}; for a new member, choose an id that differs from every member's in more than case`
  );
}

/** The clause an UNKNOWN_NODE answer adds when the id differs from a member's only in case. */
export function caseTwinHint(id: string, ids: Iterable<string>): string {
  const twin = caseTwinOf(id, ids);
  return twin === null ? '' : ` (member ${twin} differs only in case: ids are case-sensitive)`;
}

/**
 * The file's cluster.nodes ids that differ only in case, as one warning; null when none do. Not
 * refused: a cluster created from such a file has those members, and its file must go on
 * loading. A new cluster started from it gets them too, each a member of its own.
 */
export function caseTwinNodesWarning(file: string, nodes: readonly { readonly id: string }[]): string | null {
  const groups = new Map<string, string[]>();
  for (const n of nodes) groups.set(n.id.toLowerCase(), [...(groups.get(n.id.toLowerCase()) ?? []), n.id]);
  const twins = [...groups.values()].filter((ids) => ids.length > 1);
  if (twins.length === 0) return null;
  return (
    `${file}: cluster.nodes has ids that differ only in case (${twins.map((ids) => ids.join(' and ')).join('; ')}): member ids are case-sensitive, ` +
    'so each is a member of its own and counts in the quorum. If one is a typo of the other, fix the file before the cluster is created; ' +
    'in a running cluster, remove the member that does not run (ctl member remove ID)'
  );
}
