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

export class AgentLiveness {
  private lastHeard: number;
  private readonly rtts: SampleRing;
  private seq = 0;
  /** seq -> sent at, oldest first. */
  private readonly outstanding = new Map<number, number>();
  private lastPingAt = Number.NEGATIVE_INFINITY;

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

  /** The seq of a ping to send now, when one is due. */
  pingDue(now: number, intervalMs: number): number | null {
    if (now - this.lastPingAt < intervalMs) return null;
    this.lastPingAt = now;
    this.seq++;
    this.outstanding.set(this.seq, now);
    if (this.outstanding.size > MAX_OUTSTANDING_PINGS) this.outstanding.delete(this.outstanding.keys().next().value!);
    return this.seq;
  }

  /** A pong: records the RTT when it answers a ping we still remember and is not slower than the timeout. */
  pong(seq: number, now: number): number | null {
    this.heard(now);
    const sentAt = this.outstanding.get(seq);
    if (sentAt === undefined) return null;
    for (const s of [...this.outstanding.keys()]) if (s <= seq) this.outstanding.delete(s);
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
    return this.silentMs(now) > this.timeoutMs();
  }
}
