/**
 * A unary gRPC handler from an async function of the request and a deadline: the deadline is
 * the client's, a little early, so the client sees our error rather than its own timeout.
 */
import type * as grpc from '@grpc/grpc-js';
import { ServiceFailure, toServiceError } from './service-error.js';

/** How much earlier than the client's deadline a handler's ends: time to send the error back. */
export const ANSWER_MARGIN_MS = 50;

/**
 * The refusal of a request whose deadline had passed before any leader was asked: a client
 * timeout at or under ANSWER_MARGIN_MS (ctl --timeout 50ms) leaves a handler none. It said `no
 * leader confirmed the read before the deadline`, which an operator read as a leaderless
 * cluster (ops55). NO_LEADER still, as before: the client's failover is unchanged.
 */
export function deadlineSpentOnArrival(): ServiceFailure {
  return new ServiceFailure(
    'NO_LEADER',
    `the request's deadline had passed when this controller took it up, before any leader was asked (a controller keeps the last ${ANSWER_MARGIN_MS}ms of the client's timeout to answer in): give the client a longer timeout`,
    true,
  );
}

export type UnaryHandler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

/** `f` is given the call too, for who is calling (caller-owner.ts). */
export function unaryHandler<Req, Res>(f: (req: Req, deadline: number, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>, defaultTimeoutMs: number): UnaryHandler<Req, Res> {
  return (call, cb) => {
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    const deadline = Number.isFinite(requested) && requested > 0 ? requested - ANSWER_MARGIN_MS : Date.now() + defaultTimeoutMs;
    f(call.request, deadline, call).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toServiceError(err)),
    );
  };
}
