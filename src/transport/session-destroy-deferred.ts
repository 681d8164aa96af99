/**
 * Node 20 aborts the process (`Assertion failed: onread->IsFunction()`, stream_base.cc) when an
 * HTTP/2 session is destroyed from inside its own input parsing: `destroy` closes each stream,
 * each close submits an RST_STREAM, the TLS write of it completes at once, and the write's
 * completion parses the input Node had set aside, whose DATA then reaches a stream already
 * closed. Node itself calls `destroy(err)` from its native callbacks (an nghttp2 error on the
 * session), and so may a handler of a stream's events (the reset guard ends a flooding
 * connection from 'aborted'). One TLS connection of ordinary calls, some reset and the socket
 * then cut, did it to a controller 2 times in 3 (the HTTP/2 fuzzer, burst seed 3; docs/security.md,
 * "Fuzzing"). So a server session's destroy is put off to the next turn of the loop, outside any
 * parsing: a GOAWAY sent before it still stops new streams at once, the session is otherwise as
 * it was until then, and a destroy asked meanwhile is the same one.
 */
import type * as http2 from 'node:http2';

type Destroy = (error?: Error, code?: number) => void;

export function deferDestroy(session: http2.Http2Session): void {
  const destroyNow = session.destroy.bind(session) as Destroy;
  let asked = false;
  const deferred: Destroy = (error, code) => {
    if (asked) return;
    asked = true;
    setImmediate(() => destroyNow(error, code));
  };
  (session as { destroy: Destroy }).destroy = deferred;
}
