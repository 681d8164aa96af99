/**
 * The exactly-once tags of one ControllerClient's writes. The cluster keeps, per client id, the
 * latest seq it applied and refuses an older one (src/statemachine/dedup.ts, Raft thesis §6.3),
 * so two writes of one id in flight at once could arrive in either order: the one numbered
 * later, applied first, made the other fail as "older than its latest" (STALE_REQUEST), and a
 * retry that came after it was told the same of a write already applied (attack round 10: 10-25%
 * of concurrent large puts refused, and at a leader's crash writes reported failed that were
 * applied). So each write holds a lane, an id of its own, from its first attempt to its outcome:
 * within a lane one seq is in flight at a time, in order. Lanes are reused, so a client puts no
 * more ids in the cluster's table than it has writes in flight at its busiest.
 */
import * as grpc from '@grpc/grpc-js';
import { ApiError, errorCodeOf } from './errors.js';
import { cannotHaveApplied } from './never-sent.js';
import { asCallFailure } from './failover.js';
import type { ClientRefMsg } from './wire-types.js';

/** One write's tag; `release` once the write has its outcome, whatever it is. */
export interface LaneTag {
  readonly ref: ClientRefMsg;
  release(): void;
}

interface Lane {
  readonly id: string;
  seq: number;
}

export class ClientLanes {
  /** Free lanes, the most recently freed last: one writer at a time keeps using the first. */
  private readonly free: Lane[] = [];
  private lanes = 0;

  constructor(private readonly base: string) {}

  /** Lanes made so far: the client's most writes in flight at once. */
  get count(): number {
    return this.lanes;
  }

  take(): LaneTag {
    const lane = this.free.pop() ?? this.newLane();
    lane.seq += 1;
    let released = false;
    return {
      ref: { id: lane.id, seq: lane.seq },
      release: () => {
        if (released) return;
        released = true;
        this.free.push(lane);
      },
    };
  }

  private newLane(): Lane {
    const n = this.lanes++;
    return { id: n === 0 ? this.base : `${this.base}/${n}`, seq: 0 };
  }
}

/**
 * The tags of one write's attempts: the first goes out as it is, every later one is marked
 * `retry`, unless each attempt before it is known not to have been proposed (refused for the
 * leader's bound, or never sent: `send`). Any other earlier attempt may have been applied (no
 * answer, a broken stream, or a node that proposed it and then lost its leadership or shut
 * down), so a re-send must not be applied anew
 * where the cluster may have dropped the id's record: it is refused SESSION_EXPIRED instead
 * (src/statemachine/dedup.ts). Not marking the first attempt is what keeps a new client (or a
 * lane whose record was dropped long ago) from ever being refused.
 */
export class WriteAttempts {
  /** An attempt went out whose outcome is not known: every later one is a retry. */
  private mayHaveApplied = false;
  /** The last attempt went out and was not shown unproposed. */
  private outstanding = false;
  /** An attempt that went out had no answer by its deadline (not a broken connection). */
  private deadlinePassed = false;

  constructor(private readonly ref: ClientRefMsg) {}

  next(): ClientRefMsg {
    if (this.outstanding) this.mayHaveApplied = true;
    this.outstanding = true;
    return this.mayHaveApplied ? { ...this.ref, retry: true } : this.ref;
  }

  /**
   * The last attempt cannot have been applied: the leader refused it for its bound on bytes
   * waiting to commit (RESOURCE_EXHAUSTED), it never left this client, or the controller it
   * reached refused it before proposing anything (never-sent.ts). So it does not make the next
   * attempt a retry. Without this, a new client's write slowed by another's burst, or whose first
   * endpoint is down or cut off, would be refused SESSION_EXPIRED once the table is full.
   */
  refusedUnproposed(): void {
    this.outstanding = false;
  }

  /**
   * What the write's failure is reported as once every endpoint failed. "No endpoint answered"
   * (UNREACHABLE, exit 3) only when no attempt can have been applied: an attempt that went out
   * and then lost its connection (the controller it reached killed while it forwarded the write,
   * or stopping) may have been committed, so its outcome is unknown (TIMEOUT, exit 1), as when
   * the deadline passes. Before, such a write was reported as never reaching the cluster while
   * most of them had been applied (ops54: 9 of 12 writes in flight at a controller's kill -9).
   */
  outcome(err: unknown): unknown {
    if (!(err instanceof ApiError) || err.code !== 'UNREACHABLE' || !(this.outstanding || this.mayHaveApplied)) return err;
    // Said as it happened: `ctl --timeout 5ms kv put` blamed a broken connection for its own deadline (ops55).
    const what = this.deadlinePassed ? 'no answer came before its deadline (--timeout)' : 'its connection broke before an answer came';
    return new ApiError(
      'TIMEOUT',
      `the write went out and ${what}, so its outcome is unknown: it may have been applied (read it back before writing it again); ${err.message}`,
      undefined,
      { cause: err },
    );
  }

  /** Runs the write's attempts (`run` calls `send` for each) and reports its failure as `outcome` says. */
  async settle<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.outcome(err);
    }
  }

  /** One attempt with the next tag; one that failed and cannot have been applied (never-sent.ts) does not make the next a retry. */
  async send<T>(attempt: (ref: ClientRefMsg) => Promise<T>): Promise<T> {
    const ref = this.next();
    try {
      return await attempt(ref);
    } catch (err) {
      if (cannotHaveApplied(err)) this.refusedUnproposed();
      else if (unansweredByDeadline(err)) this.deadlinePassed = true;
      throw err;
    }
  }
}

/** gRPC's own DEADLINE_EXCEEDED (no controller's error code): the call's deadline passed with no answer. */
function unansweredByDeadline(err: unknown): boolean {
  const failure = asCallFailure(err);
  return failure !== null && failure.code === grpc.status.DEADLINE_EXCEEDED && errorCodeOf(failure.metadata) === null;
}
