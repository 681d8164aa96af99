/**
 * The network's state as the harness has set it: one entry per directed link (from -> to)
 * saying whether the link is cut and how much delay it adds. The proxies read it for every
 * chunk they forward; the status truth reads it to decide who can hear whom.
 *
 * A directed link A -> B carries everything A sends to B: A's requests on the connections A
 * opened to B, and A's responses on the connections B opened to A.
 */

export interface Delay {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface LinkFault {
  readonly cut: boolean;
  readonly delay: Delay | null;
  /** Bandwidth cap (bytes per second) of this direction; null: unlimited. */
  readonly rate: number | null;
}

export const NO_FAULT: LinkFault = { cut: false, delay: null, rate: null };

type Listener = () => void;

export class LinkTable {
  private readonly faults = new Map<string, LinkFault>();
  private readonly listeners = new Set<Listener>();

  private static key(from: string, to: string): string {
    return `${from}\u0000${to}`;
  }

  get(from: string, to: string): LinkFault {
    return this.faults.get(LinkTable.key(from, to)) ?? NO_FAULT;
  }

  isCut(from: string, to: string): boolean {
    return this.get(from, to).cut;
  }

  /** Listeners run after every change (the proxies close blackholed connections on heal). */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(from: string, to: string, f: (old: LinkFault) => LinkFault): void {
    if (from === to) return;
    const k = LinkTable.key(from, to);
    const next = f(this.faults.get(k) ?? NO_FAULT);
    if (!next.cut && next.delay === null && next.rate === null) this.faults.delete(k);
    else this.faults.set(k, next);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** Cuts (or restores) the directed links from each of `from` to each of `to`. */
  setCut(from: readonly string[], to: readonly string[], cut: boolean): void {
    for (const a of from) for (const b of to) this.update(a, b, (old) => ({ ...old, cut }));
    this.changed();
  }

  /** Adds delay (or removes it, with null) on the directed links from each of `from` to each of `to`. */
  setDelay(from: readonly string[], to: readonly string[], delay: Delay | null): void {
    for (const a of from) for (const b of to) this.update(a, b, (old) => ({ ...old, delay }));
    this.changed();
  }

  /**
   * Replaces every fault at once (one change event): the runner keeps its active faults and
   * recomputes the table from them, so overlapping faults on one link heal independently.
   */
  replace(
    cuts: Iterable<readonly [string, string]>,
    delays: Iterable<readonly [string, string, Delay]>,
    rates: Iterable<readonly [string, string, number]> = [],
  ): void {
    this.faults.clear();
    for (const [a, b, delay] of delays) this.update(a, b, (old) => ({ ...old, delay }));
    for (const [a, b, rate] of rates) this.update(a, b, (old) => ({ ...old, rate: Math.min(rate, old.rate ?? Infinity) }));
    for (const [a, b] of cuts) this.update(a, b, (old) => ({ ...old, cut: true }));
    this.changed();
  }

  /** Caps the bandwidth (or lifts the cap, with null) of the directed links from each of `from` to each of `to`. */
  setRate(from: readonly string[], to: readonly string[], rate: number | null): void {
    for (const a of from) for (const b of to) this.update(a, b, (old) => ({ ...old, rate }));
    this.changed();
  }

  /** No fault anywhere. */
  clear(): void {
    this.faults.clear();
    this.changed();
  }

  /** Directed links currently cut, as [from, to] pairs. */
  cuts(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, f] of this.faults) {
      if (!f.cut) continue;
      const [a, b] = k.split('\u0000') as [string, string];
      out.push([a, b]);
    }
    return out;
  }
}
