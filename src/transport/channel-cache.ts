/**
 * Long-lived clients by address (a follower's channel to its leader, a controller's to another
 * for `list agents` or resources, an agent's to each controller). Each is given up when its
 * connection attempt gets no answer (stuck-connect.ts): the next call opens a new one, which
 * reaches a healed peer at once instead of at the kernel's next resend of the old attempt.
 */
import type * as grpc from '@grpc/grpc-js';
import { connectDeadlineMs, watchStuckConnect, type StuckConnectWatch } from './stuck-connect.js';

interface Entry<C> {
  readonly client: C;
  readonly watch: StuckConnectWatch;
}

export class ChannelCache<C extends grpc.Client> {
  private readonly entries = new Map<string, Entry<C>>();
  /** Clients given up in a row without connecting, by address (for the deadline's schedule). */
  private readonly abandoned = new Map<string, number>();

  /** `onDrop`: a client is about to be closed (given up, or by `drop`/`close`): release what rides on it. */
  constructor(
    private readonly make: (address: string) => C,
    private readonly onDrop: (address: string, client: C) => void = () => undefined,
  ) {}

  get(address: string): C {
    const cached = this.entries.get(address);
    if (cached !== undefined) return cached.client;
    const client = this.make(address);
    const before = this.abandoned.get(address) ?? 0;
    const watch: StuckConnectWatch = watchStuckConnect(client.getChannel(), connectDeadlineMs(before), () => {
      if (this.entries.get(address)?.client !== client) return;
      this.abandoned.set(address, watch.connected ? 1 : before + 1);
      this.drop(address);
    });
    this.entries.set(address, { client, watch });
    return client;
  }

  /** Closes the client of `address`, if there is one. */
  drop(address: string): void {
    const entry = this.entries.get(address);
    if (entry === undefined) return;
    this.entries.delete(address);
    entry.watch.stop();
    this.onDrop(address, entry.client);
    entry.client.close();
  }

  /** Closes the clients of addresses not in `keep`. */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const address of [...this.entries.keys()]) if (!keep.has(address)) this.drop(address);
    for (const address of [...this.abandoned.keys()]) if (!keep.has(address)) this.abandoned.delete(address);
  }

  close(): void {
    for (const address of [...this.entries.keys()]) this.drop(address);
    this.abandoned.clear();
  }
}
