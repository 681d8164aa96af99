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
 * No timers and no I/O: the handler (watch-handler.ts) reports its writes, their drains and its
 * end; the clock comes in for the tie-break.
 */

/** Watches one client (a certificate identity, or a plaintext connection) may hold open on one controller. */
export const MAX_WATCHES_PER_CLIENT = 256;
/** Watches one controller serves at once, from all clients. */
export const MAX_WATCHES = 10_000;
/** Bytes written to all watch streams and not yet drained to their clients, at most. */
export const WATCH_UNDRAINED_BUDGET_BYTES = 256 * 1024 * 1024;

export interface WatchLimitsOptions {
  readonly maxPerClient: number;
  readonly maxTotal: number;
  readonly budgetBytes: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimitsOptions = {
  maxPerClient: MAX_WATCHES_PER_CLIENT,
  maxTotal: MAX_WATCHES,
  budgetBytes: WATCH_UNDRAINED_BUDGET_BYTES,
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
   * A message of `bytes` is about to be written: first cuts off watches, the longest undrained
   * first, while the write would take the total past the budget. False when this watch was the
   * one cut off: then it must not write.
   */
  hold(bytes: number): boolean;
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

  constructor(
    readonly client: string,
    private readonly limits: WatchLimits,
    /** Cuts the stream off; the handler closes the lease as it does. */
    readonly onCutOff: (reason: string) => void,
  ) {}

  hold(bytes: number): boolean {
    if (this.closed) return false;
    this.limits.makeRoom(bytes);
    if (this.closed) return false;
    if (this.undrained === 0) this.heldSince = this.limits.now();
    this.undrained += bytes;
    this.limits.addUndrained(bytes);
    return true;
  }

  drained(bytes: number): void {
    if (this.closed) return;
    const n = Math.min(bytes, this.undrained);
    this.undrained -= n;
    this.limits.addUndrained(-n);
    if (this.undrained === 0) this.heldSince = null;
  }

  close(): void {
    if (this.closed) return;
    this.drained(this.undrained);
    this.closed = true;
    this.limits.forget(this);
  }
}

export class WatchLimits {
  private readonly leases = new Set<Lease>();
  private readonly byClient = new Map<string, number>();
  private undrainedBytes = 0;
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

  /** Bytes written to watch streams and not yet drained, all watches together. */
  get undrained(): number {
    return this.undrainedBytes;
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
    if (mine >= this.opts.maxPerClient) {
      this.events?.refused('per_client');
      return {
        ok: false,
        reason: 'per_client',
        message: `${clientName} has ${mine} watches open on this controller, the most one client may (${this.opts.maxPerClient}); cancel one, or watch a common prefix with one watch`,
      };
    }
    if (this.leases.size >= this.opts.maxTotal) {
      this.events?.refused('total');
      return {
        ok: false,
        reason: 'total',
        message: `this controller serves ${this.leases.size} watches, the most it serves at once (${this.opts.maxTotal}); ${clientName} has ${mine} of them; watch through another controller`,
      };
    }
    const lease = new Lease(client, this, onCutOff);
    this.leases.add(lease);
    this.byClient.set(client, mine + 1);
    return { ok: true, lease };
  }

  /** @internal Lease's. */
  addUndrained(bytes: number): void {
    this.undrainedBytes += bytes;
  }

  /** @internal Lease's. */
  forget(lease: Lease): void {
    if (!this.leases.delete(lease)) return;
    const left = (this.byClient.get(lease.client) ?? 1) - 1;
    if (left <= 0) this.byClient.delete(lease.client);
    else this.byClient.set(lease.client, left);
  }

  /** @internal Cuts off watches, the longest undrained first, until `bytes` more fit in the budget. */
  makeRoom(bytes: number): void {
    while (this.undrainedBytes + bytes > this.opts.budgetBytes) {
      const victim = this.longestUndrained();
      if (victim === null) return; // nothing else holds anything: this write alone, at most one message
      const held = victim.undrained;
      const since = victim.heldSince === null ? 0 : Math.round(this.now() - victim.heldSince);
      const reason =
        `watches on this controller hold ${size(this.opts.budgetBytes)} written to their streams and not yet read, ` +
        `the most it holds for all watchers, and this watch's had waited longest (${held} bytes, unread for ${since} ms)`;
      this.events?.cutOff('budget');
      victim.onCutOff(reason);
      victim.close(); // whatever the handler did: the bytes go with the stream it resets
    }
  }

  private longestUndrained(): Lease | null {
    let best: Lease | null = null;
    for (const l of this.leases) {
      if (l.heldSince === null) continue;
      if (best === null || l.heldSince < best.heldSince! || (l.heldSince === best.heldSince && l.undrained > best.undrained)) best = l;
    }
    return best;
  }
}
