/**
 * How the hub's driver reads an AgentSync stream's messages. Through grpc-js each ACK and pong
 * goes through its decoder (a copy), an async step (a promise and a turn of the microtask queue),
 * every interceptor's listener and the call's object-mode stream, which pauses the HTTP/2 stream
 * after each message and resumes it when the next is wanted: in a profile of a fan-out to 1,000
 * agents that was a fifth to a quarter of each controller's busy time, several times what
 * handling the messages cost (docs/benchmarks.md, fifty-first session).
 *
 * So where the server's first interceptor filed grpc-js's base call (call-reset.ts), the request's
 * bytes go from the HTTP/2 stream's chunks to the method's own deserializer and each message to
 * the driver at once (transport/direct-messages.ts, which says what stays grpc-js's). Without a
 * filed call (a test's call, a server without the guard) the messages come through grpc-js as before.
 */
import type * as grpc from '@grpc/grpc-js';
import { takeMessages } from '../transport/direct-messages.js';
import { decodeAgentWire } from './sync-codec.js';
import type { AgentMessageWire } from './wire.js';

/** Whether the call's messages now go to `onMessage` straight from its stream (false: read them from the call). */
export function takeReads(call: { readonly metadata?: grpc.Metadata }, onMessage: (w: AgentMessageWire) => void): boolean {
  return takeMessages(call, decodeAgentWire, onMessage);
}
