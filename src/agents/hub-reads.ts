/**
 * How the hub's driver reads an AgentSync stream's messages. Through grpc-js each ACK and pong
 * goes through its decoder (a copy), an async step (a promise and a turn of the microtask queue),
 * every interceptor's listener and the call's object-mode stream, which pauses the HTTP/2 stream
 * after each message and resumes it when the next is wanted: in a profile of a fan-out to 1,000
 * agents that was a fifth to a quarter of each controller's busy time, several times what
 * handling the messages cost (docs/benchmarks.md, fifty-first session).
 *
 * So where the server's first interceptor filed grpc-js's base call (call-reset.ts), the request's
 * bytes go from the HTTP/2 stream's chunks to MessageFrames and the method's own deserializer,
 * and each message to the driver at once; the rest of the call stays grpc-js's: its deadline,
 * its cancellation, the stream's end (a half-close through the interceptors, as before) and
 * every status. What grpc-js answers a message past its limit (RESOURCE_EXHAUSTED) or one that
 * does not decode (INTERNAL, "Error deserializing request") is answered the same. Without a filed
 * call (a test's call, a server without the guard) the messages come through grpc-js as before.
 */
import * as grpc from '@grpc/grpc-js';
import { takeDataFrames } from '../transport/base-call.js';
import { filedBaseCall } from '../transport/call-reset.js';
import { MessageFrames, MessageTooLargeError } from './message-frames.js';
import { decodeAgentWire } from './sync-codec.js';
import type { AgentMessageWire } from './wire.js';

/** Whether the call's messages now go to `onMessage` straight from its stream (false: read them from the call). */
export function takeReads(call: { readonly metadata?: grpc.Metadata }, onMessage: (w: AgentMessageWire) => void): boolean {
  const base = call.metadata === undefined ? undefined : filedBaseCall(call.metadata);
  if (base === undefined) return false;
  let frames: MessageFrames | null = null;
  let failed = false;
  const fail = (status: { code: grpc.status; details: string }): void => {
    failed = true;
    base.sendStatus(status);
  };
  const taken = takeDataFrames(base, (data) => {
    if (failed || frames === null) return;
    let messages: Buffer[];
    try {
      messages = frames.take(data);
    } catch (err) {
      if (!(err instanceof MessageTooLargeError)) throw err;
      fail({ code: grpc.status.RESOURCE_EXHAUSTED, details: err.message });
      return;
    }
    for (const bytes of messages) {
      let w: AgentMessageWire;
      try {
        w = decodeAgentWire(bytes);
      } catch {
        fail({ code: grpc.status.INTERNAL, details: 'Error deserializing request' });
        return;
      }
      onMessage(w);
      if (failed) return;
    }
  });
  if (taken === null) return false;
  frames = new MessageFrames(taken.maxMessageBytes);
  return true;
}
