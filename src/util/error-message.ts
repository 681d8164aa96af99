/**
 * The one bound on the text of an error a controller sends: a KvSession answer's
 * `error_message` and every gRPC status's details (unary calls, the streams' ends).
 *
 * A message may echo input of any size (a key quoted with escapes, a name, a file's text, a
 * forwarded leader's status, an internal error's text). Unbounded, a KvSession's failed answers
 * passed what they counted (kv-session-answers.ts), and a status's `grpc-message` trailer could
 * pass HTTP/2's header list limit and never reach the client. The earlier cap on statuses (4,096
 * UTF-16 code units) could cut a surrogate pair in half, and grpc-js's encodeURI of half a pair
 * throws out of the answer's callback: the controller process exited.
 */

/** The longest message sent, in UTF-8 bytes; a longer one is cut (its start and its size kept). */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

/**
 * `message` as a controller sends it: well-formed Unicode (half a surrogate pair as U+FFFD, as
 * UTF-8 carries it anyway) and at most MAX_ERROR_MESSAGE_BYTES, a longer one cut on a character
 * boundary and marked `…(N bytes)` with its full size. A message already cut passes unchanged.
 */
export function errorMessage(message: string): string {
  const bytes = Buffer.byteLength(message);
  if (bytes <= MAX_ERROR_MESSAGE_BYTES) return wellFormed(message);
  const tail = `…(${bytes} bytes)`;
  const utf8 = Buffer.from(message);
  let end = MAX_ERROR_MESSAGE_BYTES - Buffer.byteLength(tail);
  // Back to the first byte of the character the cut falls in (continuation bytes are 10xxxxxx).
  while (end > 0 && (utf8[end]! & 0xc0) === 0x80) end--;
  return utf8.subarray(0, end).toString('utf8') + tail;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(message: string): string {
  return LONE_SURROGATE.test(message) ? Buffer.from(message).toString('utf8') : message;
}
