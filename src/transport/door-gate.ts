/**
 * A check at the gRPC server's door: a server interceptor that ends a refused call
 * PERMISSION_DENIED, with `CODE: reason` as its details, before any handler runs. The gates built
 * on it (member-key-gate.ts, agent-ca-gate.ts) therefore cover a service added later by default.
 * Health checks are open to all: a load balancer or a probe holds no particular certificate.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../util/error-message.js';

export const OPEN_TO_ALL = '/grpc.health.v1.Health/';

/** The code of a call refused because judging its caller failed. */
export const GATE_FAILED = 'GATE_FAILED';

export interface DoorRefusal<C extends string> {
  readonly code: C;
  readonly reason: string;
}

/** `judge` says why the call to `method` is refused, or null; `onRefused` hears each refusal's code (a metric). */
export function doorGate<C extends string>(
  judge: (method: string, call: grpc.ServerInterceptingCallInterface, metadata: grpc.Metadata) => DoorRefusal<C> | null,
  onRefused: (code: C) => void,
  /** A call refused because the judge threw (GATE_FAILED). */
  onFailed?: () => void,
): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            let refusal: DoorRefusal<C> | null;
            try {
              refusal = method.path.startsWith(OPEN_TO_ALL) ? null : judge(method.path, call, metadata);
            } catch (err) {
              // A caller the judge cannot read (a certificate no check foresaw) is refused, and
              // never throws out of the interceptor: that would take the whole process down.
              onFailed?.();
              call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: errorMessage(`${GATE_FAILED}: the caller could not be judged (${(err as Error).message})`) });
              return;
            }
            if (refusal === null) {
              pass(metadata);
              return;
            }
            onRefused(refusal.code);
            call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: errorMessage(`${refusal.code}: ${refusal.reason}`) });
          },
        });
      },
    });
}
