/**
 * Streams this server reset itself (a slow reader's call cut off, a call that never sent its
 * message cut at the port's cap), told apart from its client's resets: only a client's spend
 * its connection's reset budget (reset-before-served.ts). Node emits 'aborted' for both, and the
 * reset code cannot tell them apart, since a client may send any code.
 */
import type * as http2 from 'node:http2';

const resetHere = new WeakSet<http2.Http2Stream>();

/** Resets `stream` with `code`, remembered as this server's doing. */
export function resetByServer(stream: http2.Http2Stream, code: number): void {
  resetHere.add(stream);
  stream.close(code);
}

/** Whether this server, not its client, reset `stream`. */
export function wasResetByServer(stream: http2.Http2Stream): boolean {
  return resetHere.has(stream);
}
