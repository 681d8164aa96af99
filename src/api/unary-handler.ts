/**
 * A unary gRPC handler from an async function of the request and a deadline: the deadline is
 * the client's, a little early, so the client sees our error rather than its own timeout.
 */
import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from './service-error.js';

export type UnaryHandler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

/** `f` is given the call too, for who is calling (caller-owner.ts). */
export function unaryHandler<Req, Res>(f: (req: Req, deadline: number, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>, defaultTimeoutMs: number): UnaryHandler<Req, Res> {
  return (call, cb) => {
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    const deadline = Number.isFinite(requested) && requested > 0 ? requested - 50 : Date.now() + defaultTimeoutMs;
    f(call.request, deadline, call).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toServiceError(err)),
    );
  };
}
