/** Errors the peer transport reports. Each has a stable `code`. */

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
