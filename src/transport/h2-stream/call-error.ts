/** How a stream call ended when not OK: a gRPC status code and its message, as grpc-js's ServiceError carries them. */
import { status, type StatusCode } from './status-codes.js';

export class StreamCallError extends Error {
  constructor(
    readonly code: StatusCode,
    readonly details: string,
  ) {
    super(`${code} ${status[code]}: ${details}`);
    this.name = 'StreamCallError';
  }
}
