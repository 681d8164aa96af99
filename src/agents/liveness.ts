/**
 * Whether a controller still hears from one connected agent: the controllers' adaptive rule
 * (computeTimeoutMs: base + 2 x moving-average RTT, clamped to [min, max]; or exactly base)
 * over RTTs the controller measures with its own pings on the stream.
 *
 * Unlike the controllers' FailureDetector it keeps no percentile samples (8 KB a peer): a
 * controller serves thousands of agents, and the moving average is all the rule needs.
 * Our own stalls are handled by the hub, which shifts every agent's last contact past them.
 */
import { computeTimeoutMs, type DetectorConfig } from '../membership/index.js';
import { SampleRing } from '../util/sample-ring.js';

/** Pings outstanding at once; older ones are forgotten (their pongs then measure nothing). */
const MAX_OUTSTANDING_PINGS = 4;

/**
 * Due pings left unsent in a row, at most, because a push answered within the interval already
 * proved contact both ways: a ping still goes at least every fourth interval, so RTT samples
 * keep coming under a stream of changes (a sixth of a fan-out's messages were pings and pongs).
 */
export const MAX_SPARED_PINGS = 3;

export class AgentLiveness {
  private lastHeard: number;
  private readonly rtts: SampleRing;
  private seq = 0;
  /**
   * The pings awaiting a pong are seqs [firstOutstanding, seq], at most MAX_OUTSTANDING_PINGS of
   * them (seqs grow by one per ping); ping k was sent at sentAt[k % MAX_OUTSTANDING_PINGS]. Four
   * numbers in place of a Map per agent (docs/benchmarks.md, "Agents").
   */
  private firstOutstanding = 1;
  private readonly sentAt: number[] = new Array<number>(MAX_OUTSTANDING_PINGS).fill(0);
  private lastPingAt = Number.NEGATIVE_INFINITY;
  /**
   * Silence is excused until then: a large push is on its way, and the pings written after it
   * (seqs above pushSeq) reach the agent only once it has arrived, so its pongs cannot come sooner.
   */
  private quietUntil = Number.NEGATIVE_INFINITY;
  private pushSeq = 0;
  /** When the last push was written (one is in flight at a time: the push tracker's slot). */
  private pushSentAt = Number.NEGATIVE_INFINITY;
  /** When the push the agent last answered was written, if it answered one since the last ping. */
  private answeredPushAt: number | null = null;
  private sparedInARow = 0;

  constructor(
    private readonly config: DetectorConfig,
    now: number,
  ) {
    this.lastHeard = now;
    this.rtts = new SampleRing(config.rttWindow);
  }

  /** Any message from the agent. */
  heard(now: number): void {
    this.lastHeard = Math.max(this.lastHeard, now);
  }

  /** Our own stall of `ms`: not the agent's silence. */
  forgive(ms: number, now: number): void {
    this.lastHeard = Math.min(now, this.lastHeard + ms);
  }

  /**
   * The seq of a ping to send now, when one is due. One is spared (MAX_SPARED_PINGS) when the
   * agent answered, since the last ping, a push written less than an interval ago: the ACK told
   * us the agent is there, and the push told the agent we are, so either side still hears from
   * the other at least once an interval. The next one is then due an interval after that push.
   */
  pingDue(now: number, intervalMs: number): number | null {
    if (now - this.lastPingAt < intervalMs) return null;
    const answered = this.answeredPushAt;
    this.answeredPushAt = null;
    if (answered !== null && now - answered < intervalMs && this.sparedInARow < MAX_SPARED_PINGS && this.rtts.count > 0) {
      this.sparedInARow++;
      this.lastPingAt = answered;
      return null;
    }
    this.sparedInARow = 0;
    this.lastPingAt = now;
    this.seq++;
    this.sentAt[this.seq % MAX_OUTSTANDING_PINGS] = now;
    // The oldest is forgotten when more are outstanding than the ring holds.
    this.firstOutstanding = Math.max(this.firstOutstanding, this.seq - MAX_OUTSTANDING_PINGS + 1);
    return this.seq;
  }

  /** A ping to send now whatever the interval (the one written just before a large push). */
  pingNow(now: number): number {
    this.lastPingAt = Number.NEGATIVE_INFINITY;
    return this.pingDue(now, 0)!;
  }

  /**
   * A push that may take `transferMs` to reach the agent was written after ping `this.seq`:
   * the agent's silence is not judged before then. The agent's answer to the push, or a pong to
   * a ping written after it, ends the allowance.
   */
  pushWritten(transferMs: number, now: number): void {
    this.quietUntil = Math.max(this.quietUntil, now + transferMs);
    this.pushSeq = this.seq;
  }

  /** A push was written to the agent. */
  pushSent(now: number): void {
    this.pushSentAt = now;
  }

  /** The agent answered a push (ACK or NACK): what was on its way has arrived. */
  pushAnswered(): void {
    this.quietUntil = Number.NEGATIVE_INFINITY;
    // The push answered is the last one written: the tracker holds one in flight at a time.
    if (this.pushSentAt !== Number.NEGATIVE_INFINITY) this.answeredPushAt = this.pushSentAt;
  }

  /** A pong: records the RTT when it answers a ping we still remember and is not slower than the timeout. */
  pong(seq: number, now: number): number | null {
    this.heard(now);
    if (Number.isInteger(seq) && seq > this.pushSeq && seq <= this.seq) this.quietUntil = Number.NEGATIVE_INFINITY;
    if (!Number.isInteger(seq) || seq < this.firstOutstanding || seq > this.seq) return null;
    const sentAt = this.sentAt[seq % MAX_OUTSTANDING_PINGS]!;
    // This pong answers every ping up to it.
    this.firstOutstanding = seq + 1;
    const rtt = Math.max(0, now - sentAt);
    // A reply slower than the timeout measures a pause, not the link (the detector's rule).
    if (rtt > this.timeoutMs()) return null;
    this.rtts.record(rtt);
    return rtt;
  }

  movingAverageRttMs(): number {
    return this.rtts.mean();
  }

  timeoutMs(): number {
    return Math.round(computeTimeoutMs(this.config, this.movingAverageRttMs()));
  }

  lastHeardAt(): number {
    return this.lastHeard;
  }

  silentMs(now: number): number {
    return Math.max(0, now - this.lastHeard);
  }

  timedOut(now: number): boolean {
    return now - Math.max(this.lastHeard, this.quietUntil) > this.timeoutMs();
  }
}
