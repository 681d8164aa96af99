/**
 * What all watches of one controller may hold together. Two caps on their number (per client,
 * and in all), as etcd bounds a client's streams with gRPC's max-concurrent-streams, and one
 * budget of bytes written to watch streams and not yet drained: a message handed to gRPC sits,
 * serialized, in the stream's HTTP/2 buffer until the client reads it, one copy per watch. Without
 * the budget, 1,500 watches that read nothing held 1,500 copies of each 1 MiB value written
 * (a leader went from 91 MB to 1.75 GB and was deposed). When a write would take the undrained
 * bytes past the budget, watches are cut off until it fits: first the one whose undrained bytes
 * have waited longest (the most bytes among equals). A watch writes one message at a time, so
 * each holds at most one; a client that reads takes it within a round trip, and the one that has
 * held its message longest is the one that reads least, whatever the size of its values.
 *
 * A cut-off watch's bytes stay counted until its stream has closed: a reset lets go of its
 * HTTP/2 buffer only once the session has processed it, a tick or two later. Meanwhile a write
 * that does not fit waits for room (first come, first served): counting the bytes as gone at the
 * reset let 1,000 unread watches' copies live at once, however small the budget.
 *
 * No timers and no I/O: the handler (watch-handler.ts) reports its writes, their drains and its
 * end; the clock comes in for the tie-break.
 */

/** Watches one client (a certificate identity, or a plaintext connection) may hold open on one controller. */
export const MAX_WATCHES_PER_CLIENT = 256;
/** Watches one controller serves at once, from all clients. */
export const MAX_WATCHES = 10_000;
/** Bytes written to all watch streams and not yet drained to their clients, at most. */
export const WATCH_UNDRAINED_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * How messages name what is limited: other streams (health watches, audit follows) are counted
 * with this class too, and their refusals must name their own caps.
 */
export interface WatchWords {
  readonly one: string;
  readonly many: string;
  /** What a client refused at its own cap can do. */
  readonly perClientHint: string;
  /** What a client refused at the controller's cap can do. */
  readonly totalHint: string;
}

export interface WatchLimitsOptions {
  readonly maxPerClient: number;
  readonly maxTotal: number;
  readonly budgetBytes: number;
  readonly words: WatchWords;
}

export const DEFAULT_WATCH_LIMITS: WatchLimitsOptions = {
  maxPerClient: MAX_WATCHES_PER_CLIENT,
  maxTotal: MAX_WATCHES,
  budgetBytes: WATCH_UNDRAINED_BUDGET_BYTES,
  words: {
    one: 'watch',
    many: 'watches',
    perClientHint: 'cancel one, or watch a common prefix with one watch',
    totalHint: 'watch through another controller',
  },
};

export type WatchRefusal = 'per_client' | 'total';

/** What the metrics see (src/node/watch-metrics.ts). */
export interface WatchLimitsEvents {
  refused(reason: WatchRefusal): void;
  cutOff(reason: 'budget'): void;
}

/** One open watch's account. */
export interface WatchLease {
  readonly client: string;
  /** Bytes written to its stream and not yet drained. */
  readonly undrained: number;
  /**
   * A message of `bytes` is to be written: resolves true once it fits in the budget, having cut
   * off watches, the longest undrained first, to make room; false when this watch was cut off or
   * closed meanwhile: then it must not write.
   */
  hold(bytes: number): Promise<boolean>;
  /** A write of `bytes` drained (or was dropped with its stream). */
  drained(bytes: number): void;
  /** The stream closed: its bytes and its place are given back. Idempotent. */
  close(): void;
}

export type WatchAdmission =
  | { readonly ok: true; readonly lease: WatchLease }
  | { readonly ok: false; readonly reason: WatchRefusal; readonly message: string };

const MIB = 1024 * 1024;
const size = (bytes: number): string => (bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`);

class Lease implements WatchLease {
  undrained = 0;
  /** When its oldest undrained byte was written (ms); null when it holds none. */
  heldSince: number | null = null;
  closed = false;
  /** Cut off for the budget: its bytes are going, its stream is being reset. */
  cut = false;

  constructor(
    readonly client: string,
    private readonly limits: WatchLimits,
    /** Cuts the stream off; the handler closes the lease once the stream has closed. */
    readonly onCutOff: (reason: string) => void,
  ) {}

  hold(bytes: number): Promise<boolean> {
    return this.limits.request(this, bytes);
  }

  /** @internal WatchLimits'. */
  take(bytes: number): void {
    if (this.undrained === 0) this.heldSince = this.limits.now();
    this.undrained += bytes;
  }

  drained(bytes: number): void {
    if (this.closed) return;
    const n = Math.min(bytes, this.undrained);
    this.undrained -= n;
    if (this.undrained === 0) this.heldSince = null;
    this.limits.released(this, n);
  }

  close(): void {
    if (this.closed) return;
    this.drained(this.undrained);
    this.closed = true;
    this.limits.forget(this);
  }
}

interface Waiting {
  readonly lease: Lease;
  readonly bytes: number;
  readonly resolve: (granted: boolean) => void;
}

export class WatchLimits {
  private readonly leases = new Set<Lease>();
  private readonly byClient = new Map<string, number>();
  private undrainedBytes = 0;
  /** Of undrainedBytes, those of watches cut off and not yet closed. */
  private releasingBytes = 0;
  private readonly waiting: Waiting[] = [];
  private waitingBytes = 0;
  private readonly opts: WatchLimitsOptions;

  constructor(
    opts: Partial<WatchLimitsOptions> = {},
    readonly now: () => number = () => performance.now(),
    private readonly events: WatchLimitsEvents | null = null,
  ) {
    this.opts = { ...DEFAULT_WATCH_LIMITS, ...opts };
  }

  get open(): number {
    return this.leases.size;
  }

  /** Bytes written to watch streams and not yet drained (or let go with their stream), all watches together. */
  get undrained(): number {
    return this.undrainedBytes;
  }

  /** Writes waiting for room in the budget. */
  get waitingWrites(): number {
    return this.waiting.length;
  }

  get budgetBytes(): number {
    return this.opts.budgetBytes;
  }

  openBy(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** A new watch of `client` (named `clientName` in messages); refused past either cap. */
  admit(client: string, clientName: string, onCutOff: (reason: string) => void): WatchAdmission {
    const mine = this.openBy(client);
    const w = this.opts.words;
    if (mine >= this.opts.maxPerClient) {
      this.events?.refused('per_client');
      return {
        ok: false,
        reason: 'per_client',
        message: `${clientName} has ${mine} ${w.many} open on this controller, the most one client may (${this.opts.maxPerClient}); ${w.perClientHint}`,
      };
    }
    if (this.leases.size >= this.opts.maxTotal) {
      this.events?.refused('total');
      return {
        ok: false,
        reason: 'total',
        message: `this controller serves ${this.leases.size} ${w.many}, the most it serves at once (${this.opts.maxTotal}); ${clientName} has ${mine} of them; ${w.totalHint}`,
      };
    }
    const lease = new Lease(client, this, onCutOff);
    this.leases.add(lease);
    this.byClient.set(client, mine + 1);
    return { ok: true, lease };
  }

  /** @internal Lease's. */
  request(lease: Lease, bytes: number): Promise<boolean> {
    if (lease.closed || lease.cut) return Promise.resolve(false);
    this.makeRoom(bytes);
    if (lease.closed || lease.cut) return Promise.resolve(false);
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.grant(lease, bytes);
      return Promise.resolve(true);
    }
    this.waitingBytes += bytes;
    return new Promise((resolve) => this.waiting.push({ lease, bytes, resolve }));
  }

  /** @internal Lease's: `bytes` of `lease` drained or went with its stream. */
  released(lease: Lease, bytes: number): void {
    this.undrainedBytes -= bytes;
    if (lease.cut) this.releasingBytes -= bytes;
    this.grantWaiting();
  }

  /** @internal Lease's. */
  forget(lease: Lease): void {
    if (!this.leases.delete(lease)) return;
    const left = (this.byClient.get(lease.client) ?? 1) - 1;
    if (left <= 0) this.byClient.delete(lease.client);
    else this.byClient.set(lease.client, left);
    this.grantWaiting();
  }

  /** A message alone larger than the budget still goes, when nothing else is held. */
  private fits(bytes: number): boolean {
    return this.undrainedBytes + bytes <= this.opts.budgetBytes || this.undrainedBytes === 0;
  }

  private grant(lease: Lease, bytes: number): void {
    lease.take(bytes);
    this.undrainedBytes += bytes;
  }

  private granting = false;

  /**
   * Grants waiting writes, first come first served, while they fit; then, if some still wait,
   * cuts off the longest undrained of those that hold (those just granted among them: a watch
   * granted room behind which others wait is cut before it writes, if it is the oldest).
   */
  private grantWaiting(): void {
    if (this.granting) return;
    this.granting = true;
    try {
      while (this.waiting.length > 0) {
        const head = this.waiting[0]!;
        const gone = head.lease.closed || head.lease.cut;
        if (!gone && !this.fits(head.bytes)) break;
        this.waiting.shift();
        this.waitingBytes -= head.bytes;
        if (gone) {
          head.resolve(false);
          continue;
        }
        this.grant(head.lease, head.bytes);
        head.resolve(true);
      }
      if (this.waiting.length > 0) this.makeRoom(0);
    } finally {
      this.granting = false;
    }
  }

  /**
   * Cuts off watches, the longest undrained first, until what stays held, what waits and `bytes`
   * fit in the budget. The bytes of those cut off count until their streams close.
   */
  private makeRoom(bytes: number): void {
    while (this.undrainedBytes - this.releasingBytes + this.waitingBytes + bytes > this.opts.budgetBytes) {
      const victim = this.longestUndrained();
      if (victim === null) return;
      const since = victim.heldSince === null ? 0 : Math.round(this.now() - victim.heldSince);
      const w = this.opts.words;
      const reason =
        `${w.many} on this controller hold ${size(this.opts.budgetBytes)} written to their streams and not yet read, ` +
        `the most it holds for all of them, and this ${w.one}'s had waited longest (${victim.undrained} bytes, unread for ${since} ms)`;
      victim.cut = true;
      this.releasingBytes += victim.undrained;
      this.events?.cutOff('budget');
      victim.onCutOff(reason);
    }
  }

  private longestUndrained(): Lease | null {
    let best: Lease | null = null;
    for (const l of this.leases) {
      if (l.cut || l.closed || l.heldSince === null) continue;
      if (best === null || l.heldSince < best.heldSince! || (l.heldSince === best.heldSince && l.undrained > best.undrained)) best = l;
    }
    return best;
  }
}
