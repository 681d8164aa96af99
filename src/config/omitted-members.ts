/**
 * Members of the running cluster that its file leaves out. `cluster.nodes` only creates a
 * cluster and names the peers to ask at start; after that, membership lives in the replicated
 * log (`ctl member list`), as etcd's `--initial-cluster` is ignored once a data dir exists and
 * Consul's server list is only where to join. So a member dropped from the file is not removed:
 * it still counts in every quorum (and every peer dials it), which an operator who deleted its
 * line believing the cluster smaller learned only from the next outage. Say so, naming the
 * command that does remove it.
 */

interface FileNode {
  readonly id: string;
}

interface Member {
  readonly id: string;
  readonly role: 'voter' | 'learner';
}

/** One warning per member the file does not list; [] when it lists them all. */
export function omittedMemberWarnings(file: string, fileNodes: readonly FileNode[], members: readonly Member[]): string[] {
  const listed = new Set(fileNodes.map((n) => n.id));
  const voters = members.filter((m) => m.role === 'voter').length;
  const quorum = Math.floor(voters / 2) + 1;
  return members
    .filter((m) => !listed.has(m.id))
    .map((m) => {
      const counts =
        m.role === 'voter'
          ? `it still votes and counts in every quorum (${voters} voters, ${quorum} needed)`
          : 'it is still a learner of the cluster, and the leader still replicates to it';
      return (
        `${file}: cluster.nodes does not list ${m.id}, a ${m.role} of the cluster (ctl member list). The file only creates a cluster and names ` +
        `the peers to ask at start, so leaving a member out of it removes nothing: ${counts}. If ${m.id} is gone for good, remove it: ` +
        `ctl member remove ${m.id}; otherwise put it back in the file`
      );
    });
}
