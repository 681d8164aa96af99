/**
 * Which streams' reads the server itself holds up. A handler that stops reading a request stream
 * to bound what it holds (a KvSession with 1,024 requests in progress, or its answers unread)
 * leaves whatever part of the next message had come unfinished, with no byte to follow until it
 * reads again: the stalled-request sweep (incomplete-requests.ts) must not take that for a client
 * that stopped sending, or a client the server made wait 30 s would lose its session and the
 * answers of its requests in progress. The sweep registers its stream here, the handler reports
 * its pauses (direct-messages.ts), and the stall clock stops while they last.
 */
import type * as http2 from 'node:http2';

const watchers = new WeakMap<http2.Http2Stream, (held: boolean) => void>();

/** `onHeld(true)` when the server stops reading `stream`, `onHeld(false)` when it reads again. */
export function watchHeldReads(stream: http2.Http2Stream, onHeld: (held: boolean) => void): void {
  watchers.set(stream, onHeld);
}

/** The server stops reading `stream` (true) or reads it again (false). */
export function reportHeldReads(stream: http2.Http2Stream, held: boolean): void {
  watchers.get(stream)?.(held);
}
