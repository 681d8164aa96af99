/**
 * The server's first interceptor, the only one that receives grpc-js's base call: it refuses
 * calls whose metadata is past the port's limit (header-list-cap.ts) and compressed requests
 * before their messages are read (compression-gate.ts), resets a stream
 * left open after its status (unended-requests.ts), counts its unfinished request bytes
 * (incomplete-requests.ts) and a unary call's unread answer bytes (unread-answers.ts), and files the stream where its handler can reset it
 * (call-reset.ts). It must come first in the server's list.
 */
import * as grpc from '@grpc/grpc-js';
import { http2StreamOf } from './base-call.js';
import { fileCallStream } from './call-reset.js';
import { admitEncoding } from './compression-gate.js';
import { admitHeaderList } from './header-list-cap.js';
import type { IncompleteRequests } from './incomplete-requests.js';
import { resetUnendedStream } from './unended-requests.js';
import type { UnreadAnswers } from './unread-answers.js';

export interface BaseCallGuardHooks {
  /** A compressed request was refused. */
  readonly onCompressed: () => void;
  /** A stream whose client had not ended it was reset after its status. */
  readonly onUnendedReset: () => void;
  /** A call's metadata was past the port's limit (a client that never acknowledged the SETTINGS announcing it). */
  readonly onHeadersTooLarge?: () => void;
  /** Counts each stream's unfinished request bytes against the port's budget; absent: not counted. */
  readonly incomplete?: IncompleteRequests;
  /** Counts each unary call's unread answer bytes against the port's budget; absent: not counted. */
  readonly unread?: UnreadAnswers;
}

export function baseCallGuard(hooks: BaseCallGuardHooks): grpc.ServerInterceptor {
  return (method, call) => {
    const stream = http2StreamOf(call);
    if (stream !== null) hooks.incomplete?.watch(stream);
    if (stream !== null && !method.responseStream) hooks.unread?.watch(stream);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const fileAndPass = (m: grpc.Metadata): void => {
              if (stream !== null) fileCallStream(m, stream, call);
              pass(m);
            };
            const admitted = (m: grpc.Metadata): void => admitEncoding(call, m, fileAndPass, hooks.onCompressed);
            admitHeaderList(call, metadata, admitted, () => hooks.onHeadersTooLarge?.());
          },
          onCancel: () => {
            if (stream !== null) resetUnendedStream(stream, hooks.onUnendedReset);
          },
        });
      },
      sendMessage: (message, next) => {
        next(message);
        if (stream !== null && !method.responseStream) hooks.unread?.written(stream);
      },
    });
  };
}
