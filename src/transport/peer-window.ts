/**
 * HTTP/2 flow-control windows for the connections between members. At HTTP/2's default of
 * 64 KiB, a sender may have 64 KiB of a stream (and of the whole connection) unread by the
 * receiver; each further 64 KiB waits for the receiver's WINDOW_UPDATE, and for the sender's
 * event loop to turn and write the next piece. A leader busy with a burst of large writes turns
 * its loop a few times a second, so a Step batch of a few MiB took seconds to reach an idle
 * follower, and the heartbeats queued behind it with it: the followers heard nothing for over an
 * election timeout and elected another leader (attack round 11; the batches reached them in
 * 250-330 ms with these windows). Two batches are in flight per peer (peer-link.ts), so the
 * window holds two of the largest.
 *
 * grpc-js takes the window as a channel option on the dialling side; its server has none, so the
 * server's side of a member's connection is widened once that member's first batch is accepted
 * (a client's connections keep the default).
 */
import type * as http2 from 'node:http2';

/** The window of one member's connection and of each of its streams. */
export function peerFlowWindowBytes(maxMessageBytes: number): number {
  return 2 * maxMessageBytes;
}

const widened = new WeakSet<http2.Http2Session>();

/** Widens the server side of a member's connection to `bytes`, once. */
export function widenPeerSession(session: http2.Http2Session | undefined, bytes: number): void {
  if (session === undefined || session.destroyed || widened.has(session)) return;
  widened.add(session);
  session.setLocalWindowSize(bytes);
  session.settings({ initialWindowSize: bytes });
}
