/**
 * A snapshot restored under another cluster name than the one it was taken of. Cloning a
 * cluster's state into another (production's into staging, to test) is a reason to; restoring the
 * wrong file is the other, and nothing said so: a backup of staging restored with production's
 * file became production, named as it, and production's agents, which take a cluster of their
 * own name with a new id for a restore of it (docs/agents.md, "One cluster per agent"), took
 * staging's services as their configuration (attack-operator round 15). The restore goes ahead,
 * as before; it says so before anything starts on it.
 */

/** Why the operator should look again at what was restored, or null when the names agree. */
export function otherClusterNote(snapshotCluster: string, clusterName: string, configFile: string, id: string, dataDir: string): string | null {
  if (snapshotCluster === clusterName) return null;
  return (
    `the snapshot was taken of cluster ${JSON.stringify(snapshotCluster)}, but ${configFile} names cluster ${JSON.stringify(clusterName)}: ` +
    `the restored cluster is ${JSON.stringify(clusterName)} with ${JSON.stringify(snapshotCluster)}'s state, and agents that held ` +
    `${JSON.stringify(clusterName)}'s configuration take it for ${JSON.stringify(clusterName)} restored and sync to its services. ` +
    `If this is the wrong file, delete ${dataDir} before starting ${id}; if you meant to copy ${JSON.stringify(snapshotCluster)}'s state, nothing to do`
  );
}
