/**
 * SnapshotSave, the server side of `ctl snapshot save`: a consistent copy of the state machine,
 * streamed as a header (index, term, revision, size), chunks of data, and a trailer with the
 * SHA-256 of the data. Consistent because it is taken in one synchronous step after a
 * linearizable barrier: this node then holds every write acknowledged before the request,
 * whether it leads or follows.
 */
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { ConsensusPort } from './consensus-port.js';
import type { SnapshotHeader } from './operator-proto.js';
import { linearizableBarrier } from './read-barrier.js';
import { toServiceError } from './service-error.js';
import { StreamClosedError, writeWithBackpressure } from './stream-writer.js';

/** Well under gRPC's 4 MiB default message limit. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export interface SnapshotSourceDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: { snapshot(): Uint8Array; readonly appliedIndex: number; revision(): number };
  readonly defaultTimeoutMs: number;
}

export type SnapshotChunkMsg =
  | { readonly header: SnapshotHeader }
  | { readonly data: Uint8Array }
  | { readonly trailer: { readonly sha256: string } };

export function snapshotSaveHandler(deps: SnapshotSourceDeps): grpc.handleServerStreamingCall<object, SnapshotChunkMsg> {
  return (call) => {
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    const deadline = Number.isFinite(requested) && requested > 0 ? requested : Date.now() + deps.defaultTimeoutMs;
    const send = async (): Promise<void> => {
      await linearizableBarrier(deps.host, deadline);
      // One synchronous step: no entry can apply between these reads.
      const sm = deps.stateMachine;
      const data = sm.snapshot();
      const header: SnapshotHeader = {
        index: sm.appliedIndex,
        term: deps.host.status().term,
        revision: sm.revision(),
        size: data.byteLength,
        cluster: deps.clusterName,
        takenBy: deps.id,
        version: deps.version,
        createdAt: new Date().toISOString(),
      };
      const sha256 = createHash('sha256').update(data).digest('hex');
      await writeWithBackpressure(call, { header });
      for (let at = 0; at < data.byteLength; at += SNAPSHOT_CHUNK_BYTES) {
        await writeWithBackpressure(call, { data: data.subarray(at, at + SNAPSHOT_CHUNK_BYTES) });
      }
      await writeWithBackpressure(call, { trailer: { sha256 } });
      call.end();
    };
    send().catch((err: unknown) => {
      if (err instanceof StreamClosedError) return;
      call.destroy(toServiceError(err));
    });
  };
}
