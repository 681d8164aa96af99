/**
 * Streams this server reset itself (a slow reader's call cut off, a call that never sent its
 * message cut at the port's cap, an unread unary answer cut to the port's budget), told apart
 * from its client's resets: only a client's spend its connection's reset budget
 * (reset-before-served.ts). Node emits 'aborted' for both, and the reset code cannot tell them
 * apart, since a client may send any code.
 */

/** What a reset needs of a stream: an http2 stream, or a fake in tests. */
export interface ResettableStream {
  close(code: number): void;
}

const resetHere = new WeakSet<object>();

/** Resets `stream` with `code`, remembered as this server's doing. */
export function resetByServer(stream: ResettableStream, code: number): void {
  resetHere.add(stream);
  stream.close(code);
}

/** Whether this server, not its client, reset `stream`. */
export function wasResetByServer(stream: object): boolean {
  return resetHere.has(stream);
}
