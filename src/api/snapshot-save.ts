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

/**
 * The stall limit restarts with every chunk read, so a client reading one 64 KiB chunk a minute
 * held the slot for (state / 64 KiB) minutes, ~8 h for 30 MiB, and every other save against
 * that controller was refused meanwhile (attack-33 G9). A whole save is therefore also allowed
 * only its state's size at 1 Mbit/s plus a minute, from its header on (30 MiB: 5 min 12 s):
 * then it is ended with a status saying so and the slot is free. A slower link saves from a
 * controller closer to it (or copies the file afterwards).
 */
export const SNAPSHOT_SAVE_BASE_MS = 60_000;
/** 1 Mbit/s, the rate agent pushes are allowed as well (hub.ts pushTransferMs). */
export const SNAPSHOT_SAVE_BYTES_PER_S = 125_000;

/** How long a save of a `bytes`-byte state may take, from its header to its trailer. */
export function snapshotSaveAllowanceMs(bytes: number): number {
  return SNAPSHOT_SAVE_BASE_MS + Math.ceil((bytes * 1000) / SNAPSHOT_SAVE_BYTES_PER_S);
}

/** The handler's limits; tests shorten them. */
export interface SnapshotSaveLimits {
  /** A client that reads nothing for this long is cut off (default SNAPSHOT_SAVE_STALL_MS). */
  readonly stallMs?: number;
  /** The whole save's allowance for a state of `bytes` (default snapshotSaveAllowanceMs). */
  readonly allowanceMs?: (bytes: number) => number;
  /** How long the status of a save ended at its allowance may wait behind unread chunks (default failStream's). */
  readonly statusGraceMs?: number;
}

/** The save outlived its allowance: its status is sent, its loop stops. */
class SaveExpired extends Error {
  override readonly name = 'SaveExpired';
}

export interface SnapshotSourceDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: { startSnapshot(): SnapshotJob };
  readonly defaultTimeoutMs: number;
  /** Why this node cannot serve a consistent snapshot now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
}

export type SnapshotChunkMsg =
  | { readonly header: SnapshotHeader }
  | { readonly data: Uint8Array }
  | { readonly trailer: { readonly sha256: string } };

export function snapshotSaveHandler(deps: SnapshotSourceDeps, limits: SnapshotSaveLimits = {}): grpc.handleServerStreamingCall<object, SnapshotChunkMsg> {
  const stallMs = limits.stallMs ?? SNAPSHOT_SAVE_STALL_MS;
  const allowanceMs = limits.allowanceMs ?? snapshotSaveAllowanceMs;
  let saving = false;
  return (call) => {
    if (saving) {
      failStream(call, toServiceError(new ServiceFailure('FAILED_PRECONDITION', `${deps.id} is already serving a snapshot save (one at a time: each holds a copy of the state until it is read); try again when it ends, or ask another controller`)));
      return;
    }
    saving = true;
    // Settled (rejected) when the whole save's allowance runs out: a write waiting for a slow
    // reader's 'drain' stops there, and the slot is free at once.
    let expire: (err: SaveExpired) => void = () => undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      expire = reject;
    });
    expired.catch(() => undefined);
    let allowance: NodeJS.Timeout | undefined;
    const write = async (message: SnapshotChunkMsg): Promise<void> => {
      // A client that reads nothing would not read a status either.
      const stalled = setTimeout(() => cutOff(call), stallMs);
      try {
        await Promise.race([writeWithBackpressure(call, message), expired]);
      } finally {
        clearTimeout(stalled);
      }
    };
    const d = call.getDeadline();
    const requested = d instanceof Date ? d.getTime() : Number(d);
    const deadline = Number.isFinite(requested) && requested > 0 ? requested : Date.now() + deps.defaultTimeoutMs;
    const send = async (): Promise<void> => {
      await linearizableBarrier(deps.host, deadline, deps.cutOff);
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
      const allowedMs = allowanceMs(data.byteLength);
      const started = Date.now();
      allowance = setTimeout(() => {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        failStream(
          call,
          toServiceError(
            new ServiceFailure(
              'TIMEOUT',
              `${deps.id} ended the snapshot save after ${seconds} s: a ${data.byteLength}-byte snapshot is allowed ${allowedMs / 1000} s ` +
                `(its size at 1 Mbit/s and a minute) and had not all been read; the next save may start (over a faster link, or from a controller nearer this client)`,
            ),
          ),
          limits.statusGraceMs,
        );
        expire(new SaveExpired('the save outlived its allowance'));
      }, allowedMs);
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
        // An expired save's status is already on its way.
        if (err instanceof StreamClosedError || err instanceof SaveExpired) return;
        failStream(call, toServiceError(err));
      })
      .finally(() => {
        clearTimeout(allowance);
        saving = false;
      });
  };
}
