/**
 * Before `member add ID ADDRESS`: whether a controller of another cluster answers at ADDRESS (a
 * port typed from another cluster's range, a host that still runs a cluster restored there).
 * The leader would replicate to it for ever, each message refused (CLUSTER_NAME or CLUSTER_ID),
 * while `ctl health` showed the learner as merely "never heard from" (attack-operator round 16).
 * Nothing answering there is the usual case (the member is started after it is added), and a
 * controller started with --join before its addition answers with no cluster id yet: both pass.
 */
import type { ClusterIdentity } from '../../api/cluster-identity.js';
import type { Session } from './context.js';

function label(identity: ClusterIdentity): string {
  return identity.id === null ? identity.name : `${identity.name} (id ${identity.id})`;
}

/** Why ADDRESS cannot be this cluster's new member, or null when nothing there says so. */
export async function foreignClusterAt(session: Session, address: string): Promise<string | null> {
  const client = session.client();
  const theirs = await client.identityOn(address).catch(() => null);
  if (theirs === null) return null;
  const status = await client.status();
  const ours: ClusterIdentity = { name: status.cluster, id: status.clusterId === '' ? null : status.clusterId };
  const otherName = theirs.name !== ours.name;
  const otherId = theirs.id !== null && ours.id !== null && theirs.id !== ours.id;
  if (!otherName && !otherId) return null;
  return (
    `${address} answers for cluster ${label(theirs)}, not this cluster ${label(ours)}: a member added there would never catch up, ` +
    `its messages refused as another cluster's. Check the address; if that host is to become this member, stop the controller there, ` +
    `move its data dir aside, and start it with --join after the add`
  );
}
