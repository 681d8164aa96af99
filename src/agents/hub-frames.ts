/**
 * How the hub's driver writes an AgentSync stream's messages. Through grpc-js each one goes
 * through the call's object-mode stream, every interceptor's responder, the serializer and a copy
 * behind the gRPC prefix before it reaches the HTTP/2 stream: with the write's completion, about
 * half of a controller's CPU for a push, for bytes the driver holds encoded already
 * (docs/benchmarks.md, fiftieth session).
 *
 * So where the server's first interceptor filed the call's HTTP/2 stream (call-reset.ts), the
 * frames go to it directly (direct-messages.ts, which the peers' and clients' streams share): the response headers first, sent through grpc-js with every
 * interceptor's part as grpc-js would send them before its first message, then each message
 * behind its 5-byte prefix, one write each, as grpc-js writes it. The bytes on the wire are the
 * same. A status still ends the call through grpc-js: its trailers follow what was written (and
 * a stream that never had a message still ends Trailers-Only). Without a filed stream (a test's
 * call, a server without the guard) the frames go through `call.write` as before.
 */
import type * as grpc from '@grpc/grpc-js';
import { directStream } from '../transport/direct-messages.js';
import { SYNC_METHOD, type ControllerFrame } from './sync-codec.js';

/** Writes one message; `taken` runs once the transport has taken it. */
export type FrameSink = (frame: ControllerFrame, taken: () => void) => void;

/** The part of an AgentSync call the sink needs. */
export interface SinkCall {
  readonly metadata?: grpc.Metadata;
  write(frame: ControllerFrame, taken?: () => void): boolean;
  sendMetadata?(metadata: grpc.Metadata): void;
}

export function frameSinkOf(call: SinkCall): FrameSink {
  const direct = directStream(call);
  if (direct === null) return (frame, taken) => void call.write(frame, taken);
  return (frame, taken) => void direct.write(SYNC_METHOD.responseSerialize(frame), taken);
}
