/** Errors the peer transport reports. Each has a stable `code`. */
import type { RefusalCode } from '../identity/index.js';
import type { NotAddressee } from './not-addressee.js';

/** A peer sent something that is not a well-formed Raft message. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code = 'BAD_MESSAGE';
  constructor(
    /** Path of the offending field, e.g. `entries[2].index`. */
    readonly field: string,
    expected: string,
    found: string,
  ) {
    super(`bad message: ${field}: expected ${expected}, found ${found}`);
  }
}

/** A ping's payload the membership layer cannot read: the peer is answered INVALID_ARGUMENT, not INTERNAL. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

export type TransportErrorCode =
  /** No address is known for the peer (setPeer was never called, or removePeer was). */
  | 'UNKNOWN_PEER'
  /** The RPC failed; `grpcCode` holds the gRPC status. */
  | 'RPC_FAILED'
  /** No connection to the peer could be opened (refused, no route, no answer): DialFailedError. */
  | 'DIAL_FAILED'
  /** Something other than the peer answered at its address (a pong refused or not the peer's): AnsweredByOtherError. */
  | 'ANSWERED_BY_OTHER'
  /** This node refused what a peer sent; `grpcCode` is the status it answers with. */
  | 'REFUSED'
  /** The transport was closed. */
  | 'CLOSED'
  /** A TLS file could not be read. */
  | 'TLS_FILE'
  /** The proto files or a service in them could not be found. */
  | 'PROTO';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly grpcCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A call to a peer failed because this node could not open a connection to it: refused, no
 * route, or no answer to the attempt. Unlike a call lost on a working connection, this says
 * the peer cannot be reached at `address` from here, even when its own messages arrive (on the
 * connections it opened: a member listening elsewhere than the cluster dials, or behind a
 * firewall that blocks new inbound connections).
 */
export class DialFailedError extends TransportError {
  constructor(
    readonly peer: string,
    readonly address: string,
    /** The connection error as the channel reported it, e.g. `connect ECONNREFUSED 127.0.0.1:7001`. */
    readonly detail: string,
    grpcCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super('DIAL_FAILED', `cannot connect to ${peer} at ${address}: ${detail}`, grpcCode, options);
  }
}

/**
 * A ping to a peer was answered at its address, but not by the peer this node knows: the pong
 * came from another member id, was no pong, or was refused for its identity (another cluster, a
 * data dir the cluster did not record for the member, a second process of the member: `refusal`),
 * or the process there refused the ping as not meant for it (another member, another cluster:
 * `notAddressee`, not-addressee.ts). Like a DialFailedError, it says the peer cannot be reached
 * at `address` from here (what this node sends there goes to that other process), even when the
 * peer's own messages arrive on the connections it opened; unlike a ping lost on an open
 * connection, it says nothing of our dials to the peer working.
 */
export class AnsweredByOtherError extends TransportError {
  constructor(
    readonly peer: string,
    readonly address: string,
    /** What answered, e.g. `refused the pong: SUPERSEDED_INCARNATION: ...`, `expected a pong from n2, found one from n9` or `it is n3, which refused the ping as misdirected: ...`. */
    readonly detail: string,
    /** This node's identity refusal of the pong; null when it was no pong of the peer's id at all. */
    readonly refusal: RefusalCode | null,
    /** The answer was no pong but a refusal of the ping, marked as not the peer's; then `refusal` is null. */
    readonly notAddressee: NotAddressee | null = null,
    options?: { cause?: unknown },
  ) {
    super('ANSWERED_BY_OTHER', `ping ${peer} at ${address}: another process answers there: ${detail}`, null, options);
  }
}

/** Why this node cannot reach a peer at its address: no connection opens, or another process answers there. */
export type UnreachableAtAddress = DialFailedError | AnsweredByOtherError;

export function isUnreachableAtAddress(err: unknown): err is UnreachableAtAddress {
  return err instanceof DialFailedError || err instanceof AnsweredByOtherError;
}
