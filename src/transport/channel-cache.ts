/**
 * Long-lived clients by address (a follower's channel to its leader, a controller's to another
 * for `list agents` or resources). Each is given up when its connection attempt outlives its
 * deadline (stuck-connect.ts, connect-deadline.ts): the next call opens a new one, which
 * reaches a healed peer at once instead of at the kernel's next resend of the old attempt.
 *
 * Every client is built on credentials of its own that tell its watch when an attempt's TCP
 * connection is up (tcp-observed-credentials.ts), so only a slow handshake is waited for
 * longer. Being equal only to themselves, they also give each client its own connection.
 */
import type * as grpc from '@grpc/grpc-js';
import { TCP_AWARE_DEADLINES } from './connect-deadline.js';
import { watchStuckConnect, type StuckConnectWatch } from './stuck-connect.js';
import { TcpObservedCredentials } from './tcp-observed-credentials.js';

interface Entry<C> {
  readonly client: C;
  readonly watch: StuckConnectWatch;
}

export class ChannelCache<C extends grpc.Client> {
  private readonly entries = new Map<string, Entry<C>>();

  /**
   * `make(address, credentials)`: a client of `address` on exactly these credentials (the
   * cache's wrapping of `credentials`). `onDrop`: a client is about to be closed (given up, or
   * by `drop`/`close`): release what rides on it.
   */
  constructor(
    private readonly credentials: grpc.ChannelCredentials,
    private readonly make: (address: string, credentials: grpc.ChannelCredentials) => C,
    private readonly onDrop: (address: string, client: C) => void = () => undefined,
  ) {}

  get(address: string): C {
    const cached = this.entries.get(address);
    if (cached !== undefined) return cached.client;
    let watch: StuckConnectWatch | null = null;
    const client = this.make(address, new TcpObservedCredentials(this.credentials, () => watch?.tcpConnected()));
    watch = watchStuckConnect(client.getChannel(), TCP_AWARE_DEADLINES, () => {
      if (this.entries.get(address)?.client === client) this.drop(address);
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
  }

  close(): void {
    for (const address of [...this.entries.keys()]) this.drop(address);
  }
}
