/**
 * What a ping that got no pong says of the peer at its address (peer-link.ts): the membership
 * driver counts a dial failure or another process answering there as "cannot reach it at its
 * address", and any other failure as a ping lost on a connection that works.
 */
import * as grpc from '@grpc/grpc-js';
import { AnsweredByOtherError, DialFailedError, TransportError } from './errors.js';
import { describeNotAddressee, type NotAddressee } from './not-addressee.js';

export function statusName(code: number): string {
  return grpc.status[code] ?? String(code);
}

export interface FailedPing {
  readonly code: number;
  readonly details: string;
  /** The refusal's mark that the process answering is not the peer (notAddresseeOf); null when unmarked. */
  readonly notAddressee: NotAddressee | null;
}

/**
 * `connected`: the link's channel is READY. A ping that failed while it is not (it never opened a
 * connection, or lost it and cannot open another) is a dial failure. A ping refused with the mark
 * of another process is one too, whatever the channel: the connection is to that process.
 */
export function failedPingError(peer: string, address: string, failure: FailedPing, connected: boolean, cause?: unknown): TransportError {
  const msg = `${statusName(failure.code)}: ${failure.details}`;
  if (failure.notAddressee !== null) {
    return new AnsweredByOtherError(peer, address, describeNotAddressee(failure.notAddressee, msg), null, failure.notAddressee, { cause });
  }
  if ((failure.code === grpc.status.UNAVAILABLE || failure.code === grpc.status.DEADLINE_EXCEEDED) && !connected) {
    return new DialFailedError(peer, address, msg, failure.code, { cause });
  }
  return new TransportError('RPC_FAILED', `ping ${peer} at ${address}: ${msg}`, failure.code, { cause });
}
