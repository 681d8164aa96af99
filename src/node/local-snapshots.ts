/**
 * A RaftHost's own snapshots: when to take one, serializing it a step per turn of the loop,
 * and storing it (the log compacted behind it) once no write of the loop's is in flight. One
 * at a time; a snapshot installed from the leader meanwhile makes the one in progress stale.
 */
import type { Logger } from 'pino';
import type { MemoryStorage } from '../raft/storage.js';
import type { ConfState } from '../raft/types.js';
import type { Scheduler } from '../util/clock.js';
import type { RaftStorage, ReplicatedStateMachine, SnapshotJob } from './raft-ports.js';

/**
 * UTF-16 units of snapshot text per turn of the loop: about 1.6-1.9 ms of serialization here
 * (p50-p90 for 70 MB of 1 KB values; 1 Mi units took 12-16 ms, up to 45 ms in a first, cold
 * snapshot, and every write waiting on the loop waited that long). On an idle loop the whole
 * takes as long either way (1.0-1.05 s for those 70 MB): a step costs little beyond its own
 * text. On a busy one each step waits a turn, so the snapshot, and the log compaction after
 * it, come later. A record longer than this (a 1 MB value) is still one step.
 */
const SNAPSHOT_STEP_UNITS = 1 << 17;

export interface SnapshotThresholds {
  readonly snapshotThreshold: number;
  readonly snapshotThresholdBytes: number;
  readonly trailingLogs: number;
}

/** What the snapshots need of the host they belong to. */
export interface LocalSnapshotsHost {
  readonly thresholds: SnapshotThresholds;
  readonly stateMachine: ReplicatedStateMachine;
  readonly storage: RaftStorage;
  readonly mem: MemoryStorage;
  readonly clock: Scheduler;
  readonly logger: Logger;
  /** The configuration the core has now (conf changes apply in the same step as entries). */
  conf(): ConfState;
  /** The host is stopping or stopped: no snapshot is begun or stored. */
  halted(): boolean;
  /** A write of the loop's is in flight (storing waits for it, as a Ready would). */
  writing(): boolean;
  /** The state could not be serialized (the log is kept). */
  readonly onFailed?: (err: Error) => void;
  /** Storage failed: durability is lost and the host must stop. */
  fail(err: unknown): void;
}

interface Serialized {
  readonly index: number;
  readonly conf: ConfState;
  readonly data: Uint8Array;
  readonly restores: number;
}

export class LocalSnapshots {
  /** A snapshot is being serialized or written. */
  private running = false;
  /** Snapshots installed from a leader: a job begun before one is stale. */
  private restores = 0;
  /** Serialized while a write was in flight, stored when the write completes. */
  private serialized: Serialized | null = null;
  /** After a failure: the applied index before which no count-triggered attempt is made. */
  private retryAt = 0;
  /** Bytes of entry data applied since the last snapshot. */
  private appliedBytes = 0;

  constructor(private readonly host: LocalSnapshotsHost) {}

  /** The state machine was replaced by a snapshot from the leader. */
  restored(): void {
    this.appliedBytes = 0;
    this.restores++;
  }

  /** An entry of `bytes` of data was applied. */
  applied(bytes: number): void {
    this.appliedBytes += bytes;
  }

  /**
   * Every `snapshot_threshold` applied entries, or `snapshot_threshold_bytes` of them, whichever
   * comes first: a snapshot, and the log compacted behind it. The log lives in memory until then,
   * and an entry can be large (a fan-out's agent reports are tens of KB each), so a count alone
   * let it grow by about 220 MB per member over 1,000 changes to 1,000 agents. The entries kept
   * behind a snapshot are bounded the same two ways: `trailing_logs`, and a quarter of the byte
   * threshold. A state machine larger than the byte threshold (large kv values) is not
   * serialized more often than once per its own size of log, so a snapshot's cost stays in
   * proportion to the writes, and the log in memory to the state (as an LSM tree's size ratio).
   */
  maybeStart(): void {
    const { snapshotThreshold, snapshotThresholdBytes } = this.host.thresholds;
    const applied = this.host.stateMachine.appliedIndex;
    const since = applied - this.host.mem.snapshot().meta.index;
    const byteThreshold = Math.max(snapshotThresholdBytes, this.host.mem.snapshot().data.length);
    if (this.running || since <= 0 || (since < snapshotThreshold && this.appliedBytes < byteThreshold)) return;
    // After a failed attempt, the next waits for as much log again.
    if (applied < this.retryAt && this.appliedBytes < byteThreshold) return;
    this.appliedBytes = 0;
    let job: SnapshotJob;
    try {
      job = this.host.stateMachine.startSnapshot();
    } catch (err) {
      this.failed(err, applied);
      return;
    }
    this.running = true;
    // The configuration as of the captured index.
    this.step(job, this.host.conf(), this.restores);
  }

  /**
   * One step of serialization per turn of the loop, so a large state (1.1-1.9 s for 70 MB in
   * one go) never holds the loop long enough to cost a leader its term. The job is of the state
   * at its index; a snapshot installed from the leader meanwhile makes it stale.
   */
  private step(job: SnapshotJob, conf: ConfState, restores: number): void {
    this.host.clock.soon(() => {
      if (this.host.halted() || restores !== this.restores) {
        this.running = false;
        return;
      }
      let done: boolean;
      try {
        done = job.step(SNAPSHOT_STEP_UNITS);
      } catch (err) {
        this.running = false;
        this.failed(err, job.index);
        return;
      }
      if (!done) return this.step(job, conf, restores);
      this.serialized = { index: job.index, conf, data: job.bytes(), restores };
      // Outside a Ready's turn: a bug in compacting must stop the node as it would there, not the process.
      try {
        this.storeIfSerialized();
      } catch (err) {
        this.host.fail(err);
      }
    });
  }

  /** Stores the serialized snapshot and compacts the log, once no write is in flight (as inside a Ready). */
  storeIfSerialized(): void {
    const serialized = this.serialized;
    if (serialized === null || this.host.writing()) return;
    this.serialized = null;
    const { index, conf, data } = serialized;
    const { trailingLogs, snapshotThresholdBytes } = this.host.thresholds;
    const mem = this.host.mem;
    if (this.host.halted() || serialized.restores !== this.restores || index <= mem.snapshot().meta.index) {
      this.running = false;
      return;
    }
    const snap = mem.createSnapshot(index, conf, data, trailingLogs, Math.floor(snapshotThresholdBytes / 4));
    // The loop goes on while the snapshot is written: a large one took 0.5-0.8 s on a loaded
    // host, and a leader that held its loop that long sent no heartbeats and lost its term.
    // Appends issued meanwhile need not wait for it (the storage writes the data beside them
    // and stores the snapshot after: everything it compacts is at or below its index, which
    // later appends never touch), and a Ready with entries still waits for its own write
    // before anything acts on it.
    this.host.storage.saveLocalSnapshot(snap, mem.firstIndex() - 1).then(
      () => {
        this.running = false;
        this.host.logger.info({ index: snap.meta.index, bytes: snap.data.length }, 'snapshot taken; log compacted');
      },
      (err) => this.host.fail(err),
    );
  }

  private failed(err: unknown, index: number): void {
    // A state too large to serialize (restore decodes a snapshot into one string, and V8's
    // strings end at 512 MiB) must not stop the node: every member would stop at the same
    // entry, and again after each restart. The log is kept instead, and the next attempt comes
    // after another threshold of applied bytes, while an operator deletes
    // (controller.quota_bytes refuses the writes that would get there).
    const e = err instanceof Error ? err : new Error(String(err));
    this.host.logger.error({ err: e, index }, 'snapshot failed: the state could not be serialized; the log is kept uncompacted until a snapshot succeeds');
    this.host.onFailed?.(e);
    this.retryAt = this.host.stateMachine.appliedIndex + this.host.thresholds.snapshotThreshold;
  }
}
