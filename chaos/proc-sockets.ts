/**
 * Which local process opened a loopback TCP connection (Linux only).
 *
 * The proxy in front of node B accepts connections from every peer. To fault one directed
 * link A -> B it must know that a connection comes from A. On loopback the accepted socket's
 * remote port is the client's ephemeral port: /proc/net/tcp maps that local port to a socket
 * inode, and /proc/<pid>/fd of the process that holds the socket links to `socket:[inode]`.
 */
import fs from 'node:fs';

/** The inode of the socket bound to 127.0.0.1:localPort and connected to 127.0.0.1:remotePort. */
export function loopbackSocketInode(localPort: number, remotePort: number): number | null {
  const local = `0100007F:${localPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const remote = `0100007F:${remotePort.toString(16).toUpperCase().padStart(4, '0')}`;
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    if (cols[1] === local && cols[2] === remote) {
      const inode = Number(cols[9]);
      if (Number.isInteger(inode) && inode > 0) return inode;
    }
  }
  return null;
}

/** The first of `pids` that holds `socket:[inode]` among its open files. */
export function pidHoldingSocket(inode: number, pids: Iterable<number>): number | null {
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

/**
 * The pid among `pids` that opened the connection whose client end is 127.0.0.1:clientPort
 * and whose server end (our accepted socket) is 127.0.0.1:serverPort.
 */
export function pidOfLoopbackClient(clientPort: number, serverPort: number, pids: Iterable<number>): number | null {
  const inode = loopbackSocketInode(clientPort, serverPort);
  return inode === null ? null : pidHoldingSocket(inode, pids);
}
