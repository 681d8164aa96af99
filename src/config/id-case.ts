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
