/**
 * The cluster an answer comes from, carried in every answer's metadata (as etcd carries its
 * cluster_id in each response header): `cluster-id` (drawn by the cluster's first leader, a new
 * one after `controller restore` or `recover`) and `cluster-name` (cluster.name of the file). A
 * client given endpoints of two clusters can then tell, instead of writing to whichever answers
 * first (one-cluster.ts). A controller that predates this sends neither: no identity, no check.
 */
import * as grpc from '@grpc/grpc-js';

export const CLUSTER_ID_METADATA_KEY = 'cluster-id';
export const CLUSTER_NAME_METADATA_KEY = 'cluster-name';

export interface ClusterIdentity {
  readonly name: string;
  /** null before the cluster's first leader drew one. */
  readonly id: string | null;
}

/** The identity an answer's metadata carries; null when it carries none (an older controller). */
export function identityOf(metadata: grpc.Metadata | undefined): ClusterIdentity | null {
  if (metadata === undefined) return null;
  const text = (key: string): string | null => {
    const v = metadata.get(key)[0];
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const name = text(CLUSTER_NAME_METADATA_KEY);
  if (name === null) return null;
  return { name, id: text(CLUSTER_ID_METADATA_KEY) };
}

function stamp(metadata: grpc.Metadata, identity: ClusterIdentity): grpc.Metadata {
  metadata.set(CLUSTER_NAME_METADATA_KEY, identity.name);
  if (identity.id !== null) metadata.set(CLUSTER_ID_METADATA_KEY, identity.id);
  return metadata;
}

/**
 * A server interceptor that stamps this node's cluster identity on each answer: on its headers,
 * and on the trailers as well, since an answer that fails first (a refusal at the door, an
 * error) sends its metadata in the trailers only.
 */
export function clusterIdentityStamp(identity: () => ClusterIdentity): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendMetadata: (metadata, next) => next(stamp(metadata, identity())),
      sendStatus: (status, next) => next({ ...status, metadata: stamp(status.metadata ?? new grpc.Metadata(), identity()) }),
    });
}
