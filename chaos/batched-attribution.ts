/**
 * Tells which node opened each connection the fault proxies accept, in batches.
 *
 * One lookup (proc-sockets.ts) costs a read of the kernel's whole TCP table and a pass over
 * every node's fds: some 25 ms once eleven nodes have a few thousand sockets between them.
 * Done once per connection, synchronously, it held the harness's one event loop (every proxy
 * of the cluster) 95 % busy while eleven controllers dialled each other: their handshakes
 * passed the proxies so late that the transport gave each attempt up after its 2 s deadline
 * and dialled again, which made more lookups; no connection came up for 25-100 s after every
 * node listened. So connections accepted meanwhile wait for the next turn of the event loop,
 * and one lookup answers all of them: the cost per turn stays one lookup however many arrive.
 */
import { pidsOfLoopbackClients, procView, type LoopbackConnection, type ProcView } from './proc-sockets.js';

interface Pending {
  readonly conn: LoopbackConnection;
  readonly resolve: (node: string | null) => void;
}

export interface BatchedAttributionOptions {
  /** The nodes' processes now: pid -> node id. */
  readonly nodes: () => ReadonlyMap<number, string>;
  readonly proc?: ProcView;
  /** Runs the batch later (default: setImmediate, after the I/O of this turn). */
  readonly defer?: (run: () => void) => void;
}

export class BatchedAttribution {
  private pending: Pending[] = [];
  /** Lookups made (one per batch): what the tests count. */
  lookups = 0;

  constructor(private readonly opts: BatchedAttributionOptions) {}

  /** The node that opened the accepted connection with these ports; null when it is not a node. */
  identify(conn: LoopbackConnection): Promise<string | null> {
    return new Promise((resolve) => {
      this.pending.push({ conn, resolve });
      if (this.pending.length === 1) (this.opts.defer ?? setImmediate)(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.lookups += 1;
    const nodes = this.opts.nodes();
    let pids: Array<number | null>;
    try {
      pids = pidsOfLoopbackClients(
        batch.map((p) => p.conn),
        nodes.keys(),
        this.opts.proc ?? procView,
      );
    } catch {
      pids = batch.map(() => null);
    }
    batch.forEach((p, i) => {
      const pid = pids[i] ?? null;
      p.resolve(pid === null ? null : (nodes.get(pid) ?? null));
    });
  }
}
