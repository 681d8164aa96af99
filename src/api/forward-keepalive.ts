/**
 * How a follower notices that its connection to the leader went silent under a forward: HTTP/2
 * keepalive pings on the forwarder's channel. Without them a forward on an open connection that
 * drops what the follower sends (a one-way loss inside the connection, while the leader's
 * heartbeats still arrive on the peer channels, so on-leader.ts's `whileLeaderHeard` keeps the
 * forward) waited out the client's whole deadline. An unanswered ping closes the connection: the
 * forward fails as a link reset, on-leader.ts retries it on a new connection for the budget,
 * then answers NO_LEADER and the client moves on.
 *
 * grpc-js 1.14 pings only while the connection has a call open (keepalive_permit_without_calls
 * 0), every `pingEveryMs` after the last answer, and a connection that sat without calls for
 * longer than that pings as soon as its next call begins. A forwarder's KvSession is a call that
 * stays open, so a session with no request for `sessionIdleMs` is ended (kv-session.ts): an idle
 * follower holds no call and sends no pings (controllers' idle CPU is measured against etcd).
 *
 * A dead connection is noticed `pingTimeoutMs` after a forward begins on a connection that was
 * idle, and at most `pingEveryMs + pingTimeoutMs` after on one in use: 1.5 s and 2 s at the
 * default 1 s election timeout (the forward budget); at most one election timeout from 3 s up.
 */
import type * as grpc from '@grpc/grpc-js';
import { CLIENT_CHANNEL_OPTIONS } from './controller-proto.js';

export interface ForwardKeepalive {
  /** While a call is open, a ping goes out this long after the last one was answered. */
  readonly pingEveryMs: number;
  /** A ping unanswered this long: the connection is closed, and its forwards fail as a link reset. */
  readonly pingTimeoutMs: number;
  /** A KvSession without a request waiting for this long is ended, and with it the pings. */
  readonly sessionIdleMs: number;
}

/** The controllers' server permits a ping every 500 ms (peerServerOptions). */
export const MIN_PING_EVERY_MS = 500;
/**
 * Half as long again as the peer channels' 1 s: under a burst of 64 puts of 1 MB through a
 * follower on a loaded host (bench/burst.ts), pings answered later than 1 s reset the
 * forwarder's connection in one round of three, and every forward on it was sent again.
 */
export const MIN_PING_TIMEOUT_MS = 1500;
/** Pings a session sends, at most, between its last request and its end. */
const PINGS_BEFORE_IDLE_END = 4;

export function forwardKeepalive(electionTimeoutMs: number): ForwardKeepalive {
  const half = Math.round(electionTimeoutMs / 2);
  const pingEveryMs = Math.max(MIN_PING_EVERY_MS, half);
  return { pingEveryMs, pingTimeoutMs: Math.max(MIN_PING_TIMEOUT_MS, half), sessionIdleMs: PINGS_BEFORE_IDLE_END * pingEveryMs };
}

/** The forwarder's channel: a client's options, and keepalive while a call is open. */
export function forwardChannelOptions(k: ForwardKeepalive): grpc.ChannelOptions {
  return {
    ...CLIENT_CHANNEL_OPTIONS,
    'grpc.keepalive_time_ms': k.pingEveryMs,
    'grpc.keepalive_timeout_ms': k.pingTimeoutMs,
    'grpc.keepalive_permit_without_calls': 0,
  };
}
