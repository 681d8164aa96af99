/**
 * Which local process opened a loopback TCP connection (Linux only).
 *
 * The proxy in front of node B accepts connections from every peer. To fault one directed
 * link A -> B it must know that a connection comes from A. On loopback the accepted socket's
 * remote port is the client's ephemeral port: /proc/net/tcp maps that local port to a socket
 * inode, and /proc/<pid>/fd of the process that holds the socket links to `socket:[inode]`.
 *
 * Both are costly on a machine full of sockets: the kernel renders the whole table (every
 * TIME_WAIT and every abandoned attempt included) on each read, and the fds are one readlink
 * each. So lookups come in batches (`pidsOfLoopbackClients`): one read of the table and one
 * pass over the candidates' fds answer every connection accepted meanwhile.
 */
import fs from 'node:fs';

/** What the lookup reads of /proc (a fake in tests). */
export interface ProcView {
  /** The text of /proc/net/tcp; null when unreadable. */
  tcpTable(): string | null;
  /** The fd names of a process; null when it is gone. */
  fds(pid: number): readonly string[] | null;
  /** What fd `fd` of process `pid` links to; null when it is closed meanwhile. */
  link(pid: number, fd: string): string | null;
}

export const procView: ProcView = {
  tcpTable: () => {
    try {
      return fs.readFileSync('/proc/net/tcp', 'utf8');
    } catch {
      return null;
    }
  },
  fds: (pid) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      return null; // exited meanwhile
    }
  },
  link: (pid, fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return null; // closed meanwhile
    }
  },
};

/** One accepted loopback connection: the client's port and ours. */
export interface LoopbackConnection {
  readonly clientPort: number;
  readonly serverPort: number;
}

function hexEndpoint(port: number): string {
  return `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The socket inode of each connection's client end (null: not in the table), from one read. */
export function loopbackSocketInodes(conns: readonly LoopbackConnection[], proc: ProcView = procView): Array<number | null> {
  const wanted = new Map<string, number>(conns.map((c, i) => [`${hexEndpoint(c.clientPort)} ${hexEndpoint(c.serverPort)}`, i]));
  const inodes: Array<number | null> = conns.map(() => null);
  const text = proc.tcpTable();
  if (text === null || wanted.size === 0) return inodes;
  for (const line of text.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const cols = line.trim().split(/\s+/);
    const i = wanted.get(`${cols[1]} ${cols[2]}`);
    if (i === undefined) continue;
    const inode = Number(cols[9]);
    if (Number.isInteger(inode) && inode > 0) inodes[i] = inode;
  }
  return inodes;
}

/** For each inode, the first of `pids` that holds `socket:[inode]`: one pass, stopping once all are found. */
export function pidsHoldingSockets(inodes: readonly (number | null)[], pids: Iterable<number>, proc: ProcView = procView): Array<number | null> {
  const open = new Map<string, number[]>();
  inodes.forEach((inode, i) => {
    if (inode === null) return;
    const target = `socket:[${inode}]`;
    open.set(target, [...(open.get(target) ?? []), i]);
  });
  const found: Array<number | null> = inodes.map(() => null);
  for (const pid of pids) {
    if (open.size === 0) break;
    for (const fd of proc.fds(pid) ?? []) {
      const target = proc.link(pid, fd);
      const waiting = target === null ? undefined : open.get(target);
      if (waiting === undefined) continue;
      for (const i of waiting) found[i] = pid;
      open.delete(target!);
      if (open.size === 0) break;
    }
  }
  return found;
}

/** Which of `pids` opened each connection (null: none of them, or it is gone). */
export function pidsOfLoopbackClients(conns: readonly LoopbackConnection[], pids: Iterable<number>, proc: ProcView = procView): Array<number | null> {
  return pidsHoldingSockets(loopbackSocketInodes(conns, proc), pids, proc);
}

/**
 * The pid among `pids` that opened the connection whose client end is 127.0.0.1:clientPort
 * and whose server end (our accepted socket) is 127.0.0.1:serverPort.
 */
export function pidOfLoopbackClient(clientPort: number, serverPort: number, pids: Iterable<number>): number | null {
  return pidsOfLoopbackClients([{ clientPort, serverPort }], pids)[0] ?? null;
}
