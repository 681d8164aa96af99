/**
 * gRPC status codes (grpc/doc/statuscodes.md), grpc-js's own enum: the callers of this client
 * compare them with the codes grpc-js reports elsewhere.
 */
import * as grpc from '@grpc/grpc-js';

export const status = grpc.status;
export type StatusCode = grpc.status;
