/**
 * The server streams that never end by themselves (watches, audit follows). A stopping
 * controller ends them with SHUTTING_DOWN naming itself, as the agent stream does, so the client
 * knows to move on; without it they were reset at the server's forced shutdown, and the client
 * could not tell that from being cut off for reading too slowly.
 *
 * A stream's caller is judged once, when the call opens (the server's door): one whose standing
 * changes while the stream lasts (a member removed: its key is revoked, docs/security.md) is
 * ended by `refuseWhere`, or it would go on reading every change and audit event (attack round 12).
 */
import * as grpc from '@grpc/grpc-js';
import type { AuthenticatedCall } from '../transport/peer-auth.js';
import { errorMessage } from '../util/error-message.js';

/** A call as the server's door judges it: who is on it, and the method it called. */
export type JudgedCall = AuthenticatedCall & { getPath(): string };

/** Who is on a stream, and how to end it refused. */
export interface StreamCaller {
  readonly call: JudgedCall;
  /** Ends the stream with `status` (PERMISSION_DENIED naming why). */
  readonly refuse: (status: grpc.ServiceError) => void;
}

/** PERMISSION_DENIED with `details` (`CODE: reason`), as the server's door refuses a call; held to the bound of every error sent (error-message.ts). */
export function refusedStatus(reason: string): grpc.ServiceError {
  const details = errorMessage(reason);
  return Object.assign(new Error(details), { code: grpc.status.PERMISSION_DENIED, details, metadata: new grpc.Metadata() });
}

export class OpenStreams {
  private readonly ends = new Map<(reason: string) => void, StreamCaller | null>();
  private stopping: string | null = null;

  /** Registers a stream's end (and its caller, to be judged again); returns what unregisters it. A stream opened while stopping ends at once. */
  add(end: (reason: string) => void, caller: StreamCaller | null = null): () => void {
    if (this.stopping !== null) {
      end(this.stopping);
      return () => undefined;
    }
    this.ends.set(end, caller);
    return () => void this.ends.delete(end);
  }

  /** Ends every open stream and every one opened later with `reason`. */
  endAll(reason: string): void {
    this.stopping = reason;
    const ends = [...this.ends.keys()];
    this.ends.clear();
    for (const end of ends) end(reason);
  }

  /** Ends each stream whose caller `judge` now refuses (`CODE: reason`), with that refusal; how many it ended. */
  refuseWhere(judge: (method: string, call: AuthenticatedCall) => string | null): number {
    let refused = 0;
    for (const [end, caller] of [...this.ends]) {
      if (caller === null) continue;
      const why = judge(caller.call.getPath(), caller.call);
      if (why === null) continue;
      this.ends.delete(end);
      caller.refuse(refusedStatus(why));
      refused += 1;
    }
    return refused;
  }

  get size(): number {
    return this.ends.size;
  }
}
