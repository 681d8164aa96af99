/**
 * Before `member add ID ADDRESS`: whether a controller of another cluster answers at ADDRESS (a
 * port typed from another cluster's range, a host that still runs a cluster restored there).
 * The leader would replicate to it for ever, each message refused (CLUSTER_NAME or CLUSTER_ID),
 * while `ctl health` showed the learner as merely "never heard from" (attack-operator round 16).
 * Nothing answering there is the usual case (the member is started after it is added), and a
 * controller started with --join before its addition answers with no cluster id yet: both pass.
 */
import type { ClusterIdentity } from '../../api/cluster-identity.js';
import { ApiError } from '../../api/errors.js';
import type { Session } from './context.js';

/**
 * The client's words when ADDRESS answered, but not in HTTP/2 (api/not-grpc.ts): another program
 * holds the port, most often a controller's metrics port typed for its gRPC one. A member added
 * there is dialled at that program for as long as it holds it, and the controller meant to
 * listen there cannot (operator round 17: `member add c4 <c1's metrics address>` added a learner
 * that stayed offline for good).
 */
function answeredNotGrpc(address: string, err: unknown): boolean {
  return err instanceof ApiError && err.code === 'UNREACHABLE' && err.message.startsWith(`${address} does not speak gRPC`);
}

function label(identity: ClusterIdentity): string {
  return identity.id === null ? identity.name : `${identity.name} (id ${identity.id})`;
}

/** Why ADDRESS cannot be this cluster's new member (another cluster's controller, or no gRPC server, answers there), or null when nothing there says so. */
export async function foreignClusterAt(session: Session, address: string): Promise<string | null> {
  const client = session.client();
  let notGrpc = false;
  const theirs = await client.identityOn(address).catch((err: unknown) => {
    notGrpc = answeredNotGrpc(address, err);
    return null;
  });
  if (notGrpc) {
    return (
      `${address} answers, but not in gRPC (HTTP/2): another program holds it (a metrics port? a member's address is its cluster.nodes[].address, the gRPC port). ` +
      'The cluster would dial that program for this member, and a controller started there could not listen. Check the address'
    );
  }
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
