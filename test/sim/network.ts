/**
 * A simulated network for the deterministic Raft simulation. Time is the simulation's clock
 * (`now`, set by the cluster); delays are drawn in units of one tick. Every random choice
 * (delay, loss, duplication) comes from one seeded rng, so a seed replays the same deliveries
 * in the same order.
 *
 *  - delay:       each copy waits a uniform time in [minDelay, maxDelay] ticks; different
 *                 delays are what reorder messages between the same two nodes.
 *  - loss:        a copy is silently dropped with probability dropRate.
 *  - duplication: a message is sent twice with probability dupRate (each copy delayed on its own).
 *  - partitions:  cut(a, b) and isolate(n) drop traffic both when it is sent and when it would be
 *                 delivered, so messages in flight when a partition starts are lost too; heal()
 *                 removes every partition.
 *  - slow nodes:  slow(n, extra) delays every message to or from n by `extra` more; heal() ends it.
 *  - hook:        sees every message at send time and may rewrite or drop it.
 */
import type { Message, NodeId } from '../../src/raft/index.js';
import type { Rng } from '../../src/util/rng.js';

export interface FaultSettings {
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly dropRate: number;
  readonly dupRate: number;
}

/** No loss, no duplication, no delay: messages arrive in the order they were sent. */
export const RELIABLE: FaultSettings = { minDelay: 0, maxDelay: 0, dropRate: 0, dupRate: 0 };

export type DropReason = 'partition' | 'random' | 'hook';

/** Returns the message to deliver (possibly rewritten), or null to drop it. */
export type MessageHook = (m: Message, now: number) => Message | null;

export interface InFlight {
  readonly msg: Message;
  readonly deliverAt: number;
  readonly seq: number;
  /** The sender's incarnation, so a report about this message reaches only the process that sent it. */
  readonly senderIncarnation: number;
  /** The receiver's incarnation when it was sent (0: unknown). */
  readonly receiverIncarnation: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

export class SimNetwork {
  /** The current time, in the unit of `now` (the Raft simulation: ms). */
  now = 0;
  hook: MessageHook | null = null;
  /** Called for every copy put in flight, so a driver of time can schedule its arrival. */
  onEnqueue: ((f: InFlight) => void) | null = null;
  /** Called for every copy that will never be delivered, with why. */
  onDrop: ((f: InFlight, reason: DropReason) => void) | null = null;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  private settings: FaultSettings;
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private readonly slowed = new Map<NodeId, number>();
  /** Sorted by (deliverAt, seq): a copy sent earlier with the same delay arrives first. */
  private readonly queue: InFlight[] = [];
  private seq = 0;

  /** Delays in FaultSettings are counted in `unit`s of `now` (the Raft simulation: a tick of ms). */
  constructor(
    private readonly rng: Rng,
    settings: FaultSettings = RELIABLE,
    private readonly unit = 1,
  ) {
    this.settings = checkSettings(settings);
  }

  faults(): FaultSettings {
    return this.settings;
  }

  setFaults(settings: FaultSettings): void {
    this.settings = checkSettings(settings);
  }

  // ---- partitions ------------------------------------------------------------------------

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(pairKey(a, b));
  }

  isolate(n: NodeId): void {
    this.isolated.add(n);
  }

  /** Every message to or from `n` takes `extra` more units: a slow link or an overloaded node. */
  slow(n: NodeId, extra: number): void {
    this.slowed.set(n, extra);
  }

  heal(): void {
    this.cuts.clear();
    this.isolated.clear();
    this.slowed.clear();
  }

  connected(a: NodeId, b: NodeId): boolean {
    return !this.isolated.has(a) && !this.isolated.has(b) && !this.cuts.has(pairKey(a, b));
  }

  /** True when some partition (or slow node) is in force. */
  partitioned(): boolean {
    return this.cuts.size > 0 || this.isolated.size > 0 || this.slowed.size > 0;
  }

  // ---- traffic ---------------------------------------------------------------------------

  send(original: Message, senderIncarnation: number, receiverIncarnation = 0): void {
    this.stats.sent++;
    const msg = this.hook ? this.hook(original, this.now) : original;
    if (msg === null) {
      this.dropped({ msg: original, deliverAt: this.now, seq: this.seq++, senderIncarnation, receiverIncarnation }, 'hook');
      return;
    }
    const copies = this.rng.next() < this.settings.dupRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const { minDelay, maxDelay } = this.settings;
      const extra = ((this.slowed.get(msg.from) ?? 0) + (this.slowed.get(msg.to) ?? 0)) * this.unit;
      const delay = extra + this.rng.int(minDelay * this.unit, maxDelay * this.unit + 1);
      const f: InFlight = { msg, deliverAt: this.now + delay, seq: this.seq++, senderIncarnation, receiverIncarnation };
      if (!this.connected(msg.from, msg.to)) this.dropped(f, 'partition');
      else if (this.rng.next() < this.settings.dropRate) this.dropped(f, 'random');
      else this.enqueue(f);
    }
  }

  /** The next copy due at or before now, or null. Copies cut off while in flight are dropped here. */
  takeDue(): InFlight | null {
    for (;;) {
      const f = this.queue[0];
      if (!f || f.deliverAt > this.now) return null;
      this.queue.shift();
      if (!this.connected(f.msg.from, f.msg.to)) {
        this.dropped(f, 'partition');
        continue;
      }
      this.stats.delivered++;
      return f;
    }
  }

  inFlight(): number {
    return this.queue.length;
  }

  private enqueue(f: InFlight): void {
    // Binary search for the first copy due strictly later; seq only grows, so ties keep send order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.deliverAt <= f.deliverAt) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, f);
    this.onEnqueue?.(f);
  }

  private dropped(f: InFlight, reason: DropReason): void {
    this.stats.dropped++;
    this.onDrop?.(f, reason);
  }
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function checkSettings(s: FaultSettings): FaultSettings {
  if (!(s.minDelay >= 0 && s.maxDelay >= s.minDelay)) {
    throw new Error(`network: expected 0 <= minDelay <= maxDelay, found ${s.minDelay}..${s.maxDelay}`);
  }
  if (!(s.dropRate >= 0 && s.dropRate < 1) || !(s.dupRate >= 0 && s.dupRate < 1)) {
    throw new Error(`network: expected rates in [0, 1), found drop=${s.dropRate} dup=${s.dupRate}`);
  }
  return s;
}
