/**
 * Whether the controller whose data dir `controller restore` is about to write still runs.
 *
 * `controller recover` asks the LevelDB LOCK, but that moves with the directory: an operator who
 * moved a running member's data dir aside (as the non-empty refusal says to) leaves nothing at
 * the path to lock, and the running LevelDB, which names its files by the path it opened, then
 * writes new files into the restored dir and deletes its MANIFEST (attack-34 H4). What a running
 * controller keeps wherever its dir is moved is its listening sockets: it binds its gRPC address
 * (and its metrics one) when it starts serving and holds it until it stops, so an address in use
 * is the check. It is sufficient for the operator's sequence (stop the member, wait for it to
 * exit, then move its dir): between the LevelDB open and the bind, during the seconds of its own
 * start-up, a member is not yet listening, so one moved aside in that window would not be seen;
 * no procedure starts a member and moves its dir at once. It may also refuse for another program
 * on the port: that program would keep the restored controller from starting anyway.
 */
import type { NodeConfig } from '../config/index.js';
import { bindError } from '../node/listen-check.js';

/** The first of the node's own listen addresses in use, as `ADDR (what)`; null when none is. */
export async function addressInUse(config: NodeConfig): Promise<string | null> {
  const addresses: Array<readonly [string, string]> = [['gRPC', config.self.listen]];
  if (config.self.metrics !== null) addresses.push(['metrics', config.self.metrics]);
  for (const [what, address] of addresses) {
    // Only "in use" says that something runs there: an address that is not this machine's (a
    // data dir prepared on another host) or a privileged port says nothing about the member.
    if ((await bindError(address)) === 'EADDRINUSE') return `${address} (${what})`;
  }
  return null;
}
