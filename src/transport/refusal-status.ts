/** Reading the identity refusal a peer sent back in its trailers (see peer-service.ts). */
import * as grpc from '@grpc/grpc-js';
import { isRefusalCode, REFUSAL_METADATA_KEY, type RefusalCode } from '../identity/index.js';

/** The refusal code of a failed call, or null when the peer did not refuse this node's identity. */
export function refusalOf(err: { readonly code?: number; readonly metadata?: unknown }): RefusalCode | null {
  if (err.code !== grpc.status.PERMISSION_DENIED) return null;
  const md = err.metadata;
  if (!(md instanceof grpc.Metadata)) return null;
  const raw = md.get(REFUSAL_METADATA_KEY)[0];
  const text = raw instanceof Buffer ? raw.toString('utf8') : raw;
  return isRefusalCode(text) ? text : null;
}
