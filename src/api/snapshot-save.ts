/**
 * SnapshotSave, the server side of `ctl snapshot save`: a consistent copy of the state machine,
 * streamed as a header (index, term, revision, size), chunks of data, and a trailer with the
 * SHA-256 of the data. Consistent because the state is captured in one synchronous step after
 * a linearizable barrier: this node then holds every write acknowledged before the request,
 * whether it leads or follows. The capture is then serialized a step per turn of the loop, as
 * the Raft host's own snapshots are, so a large state does not stop this controller's Raft.
 */
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { ConsensusPort } from './consensus-port.js';
import type { SnapshotHeader } from './operator-proto.js';
import { linearizableBarrier } from './read-barrier.js';
import { ServiceFailure, toServiceError } from './service-error.js';
import { StreamClosedError, cutOff, failStream, writeWithBackpressure } from './stream-writer.js';
import type { SnapshotJob } from '../node/raft-ports.js';

/** UTF-16 units serialized per turn of the loop (as RaftHost's snapshot steps). */
const SAVE_STEP_UNITS = 1 << 20;

/**
 * Small, because a write here is done once HTTP/2 has queued it, not once the client read it:
 * about 15 writes of any size complete for a client that reads nothing. Chunks of 1 MiB let
 * a 12 MB state go out whole to such a client, so the save ended at once and the next was
 * served: 10 clients that read nothing held 130 MB. At 64 KiB (an HTTP/2 window) that is ~1 MiB.
 */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/**
 * A save holds a whole serialized copy of the state until its client has read it, so a
 * controller serves one at a time, and cuts off a client that reads nothing for this long:
 * 30 saves that were never read held 290 MB and blocked a controller's loop for 12.8 s.
 */
export const SNAPSHOT_SAVE_STALL_MS = 60_000;

export interface SnapshotSourceDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: { startSnapshot(): SnapshotJob };
  readonly defaultTimeoutMs: number;
}

export type SnapshotChunkMsg =
  | { readonly header: SnapshotHeader }
  | { readonly data: Uint8Array }
  | { readonly trailer: { readonly sha256: string } };

export function snapshotSaveHandler(deps: SnapshotSourceDeps, stallMs = SNAPSHOT_SAVE_STALL_MS): grpc.handleServerStreamingCall<object, SnapshotChunkMsg> {
  let saving = false;
  return (call) => {
    if (saving) {
      failStream(call, toServiceError(new ServiceFailure('FAILED_PRECONDITION', `${deps.id} is already serving a snapshot save (one at a time: each holds a copy of the state until it is read); try again when it ends, or ask another controller`)));
      return;
    }
    saving = true;
    const write = async (message: SnapshotChunkMsg): Promise<void> => {
      // A client that reads nothing would not read a status either.
      const stalled = setTimeout(() => cutOff(call), stallMs);
      try {
        await writeWithBackpressure(call, message);
      } finally {
        clearTimeout(stalled);
      }
    };
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    const deadline = Number.isFinite(requested) && requested > 0 ? requested : Date.now() + deps.defaultTimeoutMs;
    const send = async (): Promise<void> => {
      await linearizableBarrier(deps.host, deadline);
      // One synchronous step: no entry can apply between the capture and the term.
      const job = deps.stateMachine.startSnapshot();
      const term = deps.host.status().term;
      while (!job.step(SAVE_STEP_UNITS)) await new Promise<void>((resolve) => setImmediate(resolve));
      const data = job.bytes();
      const header: SnapshotHeader = {
        index: job.index,
        term,
        revision: job.revision,
        size: data.byteLength,
        cluster: deps.clusterName,
        takenBy: deps.id,
        version: deps.version,
        createdAt: new Date().toISOString(),
      };
      // Hashed a chunk at a time as it goes out: 70 MB at once held the loop for 0.15 s.
      const hash = createHash('sha256');
      await write({ header });
      for (let at = 0; at < data.byteLength; at += SNAPSHOT_CHUNK_BYTES) {
        const chunk = data.subarray(at, at + SNAPSHOT_CHUNK_BYTES);
        hash.update(chunk);
        await write({ data: chunk });
      }
      await write({ trailer: { sha256: hash.digest('hex') } });
      call.end();
    };
    send()
      .catch((err: unknown) => {
        if (err instanceof StreamClosedError) return;
        failStream(call, toServiceError(err));
      })
      .finally(() => {
        saving = false;
      });
  };
}
