/**
 * Asks every running node, every `intervalMs`, for its `list controllers` answer (exactly that
 * node: no failover; see node-probe.ts), and keeps the answers with their send and receive times. A node with a
 * request still out (paused, cut off) is not asked again until it answers or times out.
 */
import { NodeProbe } from './node-probe.js';
import type { StatusSample } from './status-analysis.js';

export interface SamplerOptions {
  /** The nodes to ask now (running, not paused). */
  readonly targets: () => readonly string[];
  readonly endpointOf: (id: string) => string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

export class StatusSampler {
  readonly samples: StatusSample[] = [];
  failures = 0;
  private readonly clients = new Map<string, NodeProbe>();
  private readonly outstanding = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<void>>();
  /** Answers to requests sent before the last clear() are dropped: their times are on another clock origin. */
  private generation = 0;

  constructor(private readonly opts: SamplerOptions) {}

  start(): void {
    this.timer = setInterval(() => this.round(), this.opts.intervalMs);
    this.round();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.pending]);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Forgets every answer so far, and the answers still on their way. */
  clear(): void {
    this.generation += 1;
    this.samples.length = 0;
  }

  /** A restarted node gets a fresh channel (the old one may sit in reconnect backoff). */
  reset(id: string): void {
    this.clients.get(id)?.close();
    this.clients.delete(id);
  }

  private client(id: string): NodeProbe {
    let c = this.clients.get(id);
    if (c === undefined) {
      c = new NodeProbe(this.opts.endpointOf(id), this.opts.timeoutMs);
      this.clients.set(id, c);
    }
    return c;
  }

  private round(): void {
    for (const id of this.opts.targets()) {
      if (this.outstanding.has(id)) continue;
      this.outstanding.add(id);
      const p = this.ask(id).finally(() => {
        this.outstanding.delete(id);
        this.pending.delete(p);
      });
      this.pending.add(p);
    }
  }

  private async ask(id: string): Promise<void> {
    const client = this.client(id);
    const generation = this.generation;
    const sentMs = this.opts.now();
    try {
      const view = await client.listControllers();
      if (generation !== this.generation) return;
      this.samples.push({
        sampler: id,
        sentMs,
        receivedMs: this.opts.now(),
        rows: view.controllers.map((c) => ({ id: c.id, online: c.online, leader: c.leader, local: c.localState, cluster: c.clusterState, timeoutMs: c.heartbeatTimeoutMs })),
        stale: view.stale,
      });
    } catch {
      this.failures += 1;
    }
  }

  /** The leader most of `among` reported in their latest answers within maxAgeMs; null if none. */
  leader(among: ReadonlySet<string>, maxAgeMs: number): string | null {
    const now = this.opts.now();
    const latest = new Map<string, StatusSample>();
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (now - s.receivedMs > maxAgeMs) break;
      if (among.has(s.sampler) && !latest.has(s.sampler)) latest.set(s.sampler, s);
    }
    const votes = new Map<string, number>();
    for (const s of latest.values()) {
      const l = s.rows.find((r) => r.leader)?.id;
      if (l !== undefined) votes.set(l, (votes.get(l) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = 0;
    for (const [id, v] of votes) {
      if (v > bestVotes) {
        best = id;
        bestVotes = v;
      }
    }
    return bestVotes * 2 > latest.size ? best : null;
  }
}
